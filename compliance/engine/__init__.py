"""The rule engine: one module per rule family, pure functions over per-vehicle state.

Time always comes from the data (fix times), never the wall clock, so replaying history gives
exactly what the live pipeline gave. Nothing here imports Django.
"""

from config.native import attach

attach(__name__, __path__)  # the compiled modules, when built from these very sources
