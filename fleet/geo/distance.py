"""Great-circle distance for the hot paths (pipeline quality flags, rule engine).

Pure Python, no Django: geopy's great_circle costs ~30× more per call, and both run for every
fix. A test checks the two agree.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # mean radius, as geopy's great_circle uses


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
