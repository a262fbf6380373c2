"""Every write of the compliance app, one module per area: keyword-only functions, one
transaction each, one audit row per object changed, live updates sent on commit."""
