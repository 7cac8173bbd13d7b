"""Schedules: how much of a parent order to trade by when.

Every schedule answers `target_filled(t_ns)` (cumulative shares due by then) and
`slice_quantity(t_ns, filled, lot_size)` (whole lots to send now); the router asks the
schedule *how much*, then an allocator *where*. TWAP is linear in time, VWAP follows a
volume profile, POV follows the volume actually printed (fed through `update_volume`),
and `ImplementationShortfall` is the Almgren-Chriss trajectory that front-loads with risk
aversion and reduces to TWAP without it.
"""

from router.schedules.base import Schedule
from router.schedules.implementation_shortfall import ImplementationShortfall
from router.schedules.pov import POV
from router.schedules.twap import TWAP
from router.schedules.vwap import VWAP, VolumeProfile, flat_profile, u_shaped_profile

__all__ = [
    "Schedule",
    "TWAP",
    "VWAP",
    "VolumeProfile",
    "flat_profile",
    "u_shaped_profile",
    "POV",
    "ImplementationShortfall",
]
