"""Data files shipped with newsmon (read with importlib.resources)."""
