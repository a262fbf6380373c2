"""Pages of the compliance app, one module per area; each area has its own URL list."""
