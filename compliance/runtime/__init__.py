"""The rule engine at work: registry facts, per-vehicle rule state, the pipeline hook, replay.

``compliance.engine`` holds the rules as pure state machines; this package feeds them. The
same ``VehicleRules.feed`` runs live (``detector.Detector``, called by the pipeline worker in
per-vehicle order) and over stored history (``replay``), so both give the same findings.
"""

from config.native import attach

attach(__name__, __path__)  # the compiled modules, when built from these very sources
