"""The ``iomem`` command."""
