"""Jurisdiction geography: importing district boundaries and resolving points to districts.

``boundaries`` reads, validates and repairs GeoJSON district boundaries and writes District rows;
``jurisdiction`` answers "which district owns this point?" in pure Python (shapely), for the hot
path and for the demo city generator.
"""

from config.native import attach

attach(__name__, __path__)  # the compiled modules, when built from these very sources
