"""Spreadsheet import and export of the registry (enterprises, vehicles, drivers, certificates,
terminals) with the Chinese column headings bureaus use. Entry points are in ``service``."""
