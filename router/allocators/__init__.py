"""Allocators: where each slice of a parent order goes (static baselines, bandits,
contextual and censored-feedback allocation), all behind `Allocator.choose/update`, and a
registry that loads one by key or by `module:Class`."""

from router.allocators.base import Allocation, Allocator, VenueFeedback
from router.allocators.censored_dark import CensoredDarkAllocator
from router.allocators.change_detection import CusumUCB
from router.allocators.cost_based import CostBasedSplit
from router.allocators.dark_first import DarkFirst
from router.allocators.discounted_ucb import DiscountedUCB
from router.allocators.epsilon_greedy import EpsilonGreedy
from router.allocators.exp3 import EXP3
from router.allocators.lin_ucb import LinUCB
from router.allocators.registry import ALLOCATORS, AllocatorSpecError, load_allocator, make_allocator
from router.allocators.sliding_window_ucb import SlidingWindowUCB
from router.allocators.static import FixedWeights, LitOnly, ProRataDisplayed
from router.allocators.thompson import ThompsonSampling
from router.allocators.ucb import UCB1, VenueBandit

__all__ = [
    "ALLOCATORS",
    "Allocation",
    "Allocator",
    "AllocatorSpecError",
    "CensoredDarkAllocator",
    "CostBasedSplit",
    "CusumUCB",
    "DarkFirst",
    "DiscountedUCB",
    "EXP3",
    "EpsilonGreedy",
    "FixedWeights",
    "LinUCB",
    "LitOnly",
    "ProRataDisplayed",
    "SlidingWindowUCB",
    "ThompsonSampling",
    "UCB1",
    "VenueBandit",
    "VenueFeedback",
    "load_allocator",
    "make_allocator",
]
