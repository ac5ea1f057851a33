"""The sanitizer's pytest fixture, for the tests here."""

from iomem.check.pytest_plugin import mmio_check, pytest_configure  # noqa: F401
