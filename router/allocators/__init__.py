"""Allocators: where each slice of a parent order goes (static baselines, bandits,
contextual and censored-feedback allocation), all behind `Allocator.choose/update`."""

from router.allocators.base import Allocation, Allocator, VenueFeedback

__all__ = ["Allocation", "Allocator", "VenueFeedback"]
