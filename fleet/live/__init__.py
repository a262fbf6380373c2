"""Live view: vehicle updates pushed over websockets, scoped like everything else."""
