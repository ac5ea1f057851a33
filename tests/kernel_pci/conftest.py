"""Fixtures for the PCI kernel tests (the boards are in pci_rig.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pci_rig import pc

from iomem.drivers import edu as edu_driver
from iomem.kernel import Kernel
from iomem.kernel.pci import pci_core, pci_dev


@pytest.fixture
def k() -> Iterator[Kernel]:
    """The pc board with edu at 00:04.0 and no driver bound; the current kernel."""
    kern = pc()
    with kern:
        yield kern


@pytest.fixture
def pdev(k: Kernel) -> pci_dev:
    d = pci_core(k).find("0000:00:04.0")
    assert d is not None
    return d


@pytest.fixture
def edu(k: Kernel, pdev: pci_dev) -> edu_driver.edu_dev:
    """The edu driver bound to 00:04.0 (MSI)."""
    edu_driver.edu_init()
    e = edu_driver.edu_get(pdev)
    assert e is not None
    return e
