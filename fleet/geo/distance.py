"""Great-circle distance for the hot paths (pipeline quality flags, rule engine).

Pure Python, no Django: geopy's great_circle costs ~30× more per call, and both run for every
fix. A test checks the two agree.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # mean radius, as geopy's great_circle uses
# math.radians(x) is exactly x * (pi / 180), and x * x is the correctly rounded square (``** 2``
# goes through pow, which can be a bit off): written so, the compiled rules (mypyc) run them as
# machine arithmetic instead of calls through the math module (~3,400 instructions a call
# before, for a distance computed for every fix).
RADIANS_PER_DEGREE = math.pi / 180.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = lat1 * RADIANS_PER_DEGREE, lat2 * RADIANS_PER_DEGREE
    north = math.sin((phi2 - phi1) / 2)
    east = math.sin((lon2 - lon1) * RADIANS_PER_DEGREE / 2)
    a = north * north + math.cos(phi1) * math.cos(phi2) * (east * east)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
