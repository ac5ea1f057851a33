"""Fixtures for the core tests (the boards themselves are in core_rig.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from core_rig import Rig, build


@pytest.fixture
def make_rig() -> Callable[..., Rig]:
    return build


def _active(arch: str) -> Iterator[Rig]:
    r = build(arch)
    with r.k:
        yield r


@pytest.fixture
def rig() -> Iterator[Rig]:
    """arm64 (QEMU virt-like), the current kernel for the test."""
    yield from _active("arm64")


@pytest.fixture
def x86() -> Iterator[Rig]:
    yield from _active("x86_64")


@pytest.fixture(params=["arm64", "x86_64"])
def anyarch(request: pytest.FixtureRequest) -> Iterator[Rig]:
    yield from _active(request.param)
