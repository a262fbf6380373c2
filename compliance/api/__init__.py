"""Read API of violations (``/api/v1/violations/``), registered in fleet/api/urls.py."""
