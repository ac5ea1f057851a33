"""Shared test configuration."""

pytest_plugins = ["iomem.vm.pytest_plugin"]
