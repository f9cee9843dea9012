"""The version of popgen-hub, in one place (the package and every output it writes)."""

__version__ = "0.1.0"
