"""pytest fixtures that run a test's kernels under the sanitizer.

Installing iomem registers it with pytest (a ``pytest11`` entry point), so any
project's tests can ask for ``mmio_check``; ``pytest_plugins =
["iomem.check.pytest_plugin"]`` still works.  In a test that takes ``mmio_check``,
every kernel booted gets the sanitizer and the memory model named by the
``memory_model`` marker (``strict`` by default: the fastest, for tests that
check logic rather than ordering).  When the test ends, what is in flight
lands, leaks are looked for, and the test fails on any error report it did
not declare with :meth:`MmioCheck.expect`::

    @pytest.mark.memory_model("adversarial")
    def test_my_driver(mmio_check):
        k = iomem.boot("lab")
        ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .report import Report, render_text
from .runner import Session


class MmioCheck:
    """The sanitizer session of one test."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.expected: set[str] = set()
        self._reports: list[Report] | None = None

    @property
    def kernels(self) -> list:
        return self.session.kernels

    def expect(self, *rule_ids: str) -> None:
        """These rules are meant to fire (a test of a broken driver): they do not fail the
        test, and the test fails if one of them does not fire."""
        from .rules import rule

        for r in rule_ids:
            rule(r)  # a typo is an error, not a silent pass
        self.expected.update(rule_ids)

    def reports(self, leaks: bool | None = None) -> list[Report]:
        """Settle, look for leaks, and return every report (once; later calls repeat it)."""
        if self._reports is None:
            self._reports = self.session.finish(leaks)
        return self._reports

    def rules(self) -> set[str]:
        return {r.rule for r in self.reports()}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "memory_model(name): the CPU memory model for the "
                                       "kernels of an mmio_check test")


@pytest.fixture
def mmio_check(request: pytest.FixtureRequest) -> Iterator[MmioCheck]:
    """Kernels booted during the test run under the sanitizer; errors fail the test."""
    marker = request.node.get_closest_marker("memory_model")
    model = marker.args[0] if marker is not None else "strict"
    with Session(model, sanitize=True) as session:
        check = MmioCheck(session)
        yield check
    reports = check.reports()
    missing = check.expected - {r.rule for r in reports}
    unexpected = [r for r in reports if r.is_error and r.rule not in check.expected]
    if unexpected:
        pytest.fail("the MMIO sanitizer found errors:\n" + render_text(unexpected),
                    pytrace=False)
    if missing:
        pytest.fail(f"expected sanitizer reports did not come: {', '.join(sorted(missing))}",
                    pytrace=False)
