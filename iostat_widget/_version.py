"""The package's version, written here only: the build reads it, and so does the package."""

__version__ = "0.1.0"

__all__ = ["__version__"]
