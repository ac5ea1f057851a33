"""Device-tree fixtures: the edge-case board (compiled with dtc) and QEMU's virt blob."""

from __future__ import annotations

from pathlib import Path

import pytest

from iomem.of import DeviceTree, DtError, load_builtin, load_dts
from iomem.of.fdt import find_dtc

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def dtc() -> str:
    """dtc, installed on demand as root; tests that compile sources skip without it."""
    try:
        return find_dtc()
    except DtError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def edge(dtc: str) -> DeviceTree:
    return load_dts(DATA / "edge.dts")


@pytest.fixture(scope="session")
def virt() -> DeviceTree:
    return load_builtin("virt")
