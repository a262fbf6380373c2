"""HTTP ingest: systems that push JSON batches instead of connecting over JT/T 808."""
