"""Telemetry pipeline: the ingest bus, the position store, latest state per vehicle.

Hot path rule: nothing here touches the ORM per fix; positions go in by binary COPY.
"""
