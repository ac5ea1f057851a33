"""iomem: Linux memory-mapped I/O in Python."""

__version__ = "0.1.0"
