"""Fixtures of the trace tests (the set-ups themselves are in trace_rig.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from trace_rig import SimEdu


@pytest.fixture
def sim_edu() -> Iterator[SimEdu]:
    sim = SimEdu()
    with sim.k:
        yield sim
