"""pytest support for tests that need a real kernel: the ``vm_lab`` fixture and ``vm`` marker.

Setting the lab up (QEMU, kernels, initramfs) happens once per session, on
first use, with progress on the terminal. Whether a missing lab skips or
fails follows one rule: under ``CI=true`` the lab is required, so any setup
problem fails the test with its message; elsewhere the test is skipped with
the reason (``pytest -ra`` prints it), e.g. when not root and QEMU is not
installed. ``IOMEM_VM=0`` skips VM tests outside CI.

A test module boots once by asking for one run in a module-scoped fixture::

    @pytest.fixture(scope="module")
    def guest(vm_lab):
        return vm_lab.run(python=CHECKS, collect=["/proc/iomem"])

Register with ``pytest_plugins = ["iomem.vm.pytest_plugin"]`` in conftest.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from iomem.vm import runner
from iomem.vm.errors import VMSetupError
from iomem.vm.machines import get_machine
from iomem.vm.runner import BootAssets, Command, RunResult

_LAB_KEY = pytest.StashKey["Lab"]()


def ci_requires_lab() -> bool:
    """True under CI (``CI=true``): the VM lab must work, never skip."""
    return os.environ.get("CI", "").lower() == "true"


class Lab:
    """The VM lab as tests see it: runs through ``iomem.vm``, setup problems skip or fail."""

    def __init__(self, config: pytest.Config | None = None) -> None:
        self._config = config
        self._assets: dict[str, BootAssets] = {}
        self._errors: dict[str, str] = {}
        #: Seconds each architecture's setup took in this session.
        self.setup_times: dict[str, float] = {}
        #: (machine, seconds) for each boot in this session.
        self.boots: list[tuple[str, float]] = []

    def progress(self, message: str) -> None:
        reporter = (
            self._config.pluginmanager.get_plugin("terminalreporter") if self._config else None
        )
        if reporter is not None:
            reporter.write_line(f"iomem vm: {message}")

    def unavailable(self, reason: str) -> None:
        """Skip the current test, or fail it under CI."""
        if ci_requires_lab():
            pytest.fail(f"the VM lab is required under CI=true but failed: {reason}", pytrace=False)
        pytest.skip(f"VM lab unavailable: {reason}")

    def assets(self, machine: str = "pc") -> BootAssets:
        """Boot assets for ``machine``'s architecture, set up on first use."""
        mach = get_machine(machine)
        if not ci_requires_lab() and os.environ.get("IOMEM_VM", "").lower() in ("0", "off", "no"):
            self.unavailable("disabled by IOMEM_VM=0")
        if mach.arch in self._errors:
            self.unavailable(self._errors[mach.arch])
        if mach.arch not in self._assets:
            started = time.monotonic()
            try:
                self._assets[mach.arch] = runner.prepare(mach, progress=self.progress)
            except VMSetupError as exc:
                self._errors[mach.arch] = str(exc)
                self.unavailable(str(exc))
            self.setup_times[mach.arch] = time.monotonic() - started
        return self._assets[mach.arch]

    def run(self, command: Command | None = None, **options: Any) -> RunResult:
        """``iomem.vm.run`` with this session's assets (see its documentation)."""
        machine = options.get("machine", "pc")
        options.setdefault("assets", self.assets(machine))
        result = runner.run(command, **options)
        self.boots.append((result.machine, result.elapsed))
        return result

    def run_batch(self, commands: Sequence[Command], **options: Any) -> RunResult:
        """``iomem.vm.run_batch`` with this session's assets: one boot, several commands."""
        machine = options.get("machine", "pc")
        options.setdefault("assets", self.assets(machine))
        result = runner.run_batch(commands, **options)
        self.boots.append((result.machine, result.elapsed))
        return result


def _lab(config: pytest.Config) -> Lab:
    lab = config.stash.get(_LAB_KEY, None)
    if lab is None:
        lab = Lab(config)
        config.stash[_LAB_KEY] = lab
    return lab


@pytest.fixture(scope="session")
def vm_lab(pytestconfig: pytest.Config) -> Iterator[Lab]:
    """The VM lab; each machine's architecture is set up on first use."""
    yield _lab(pytestconfig)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "vm: needs the VM lab (QEMU + a Debian kernel); skipped with a reason outside CI, "
        "required under CI=true",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "vm_lab" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("vm"):
            item.add_marker(pytest.mark.vm)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A vm-marked test that drives iomem.vm itself gets the same skip-or-fail rule;
    # ``@pytest.mark.vm(machine="virt")`` names the machine it needs.
    marker = item.get_closest_marker("vm")
    if marker is not None:
        _lab(item.config).assets(marker.kwargs.get("machine", "pc"))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lab = config.stash.get(_LAB_KEY, None)
    if lab is None or not (lab.setup_times or lab.boots or lab._errors):
        return
    parts = [f"{arch} setup {secs:.1f} s" for arch, secs in lab.setup_times.items()]
    if lab.boots:
        total = sum(s for _, s in lab.boots)
        parts.append(f"{len(lab.boots)} boots, {total:.1f} s in all")
    parts += [f"{arch} unavailable: {why}" for arch, why in lab._errors.items()]
    terminalreporter.write_sep("-", "iomem VM lab")
    terminalreporter.write_line("; ".join(parts))
