from __future__ import annotations

import json
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "object", "description": "GeoJSON geometry (WGS-84)"})
class GeometryField(serializers.Field):
    """A read-only GeoJSON geometry (the API only serves geometry for now)."""

    def to_representation(self, value: GEOSGeometry | None) -> dict[str, Any] | None:
        return None if value is None else json.loads(value.geojson)
