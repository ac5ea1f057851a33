"""The lab's own promises on a real kernel: cold and warm set-up times, errors, clean-up."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from iomem.vm import assets, runner
from iomem.vm.cli import vm
from iomem.vm.errors import GuestCommandError, VMSetupError, VMTimeout

pytestmark = pytest.mark.vm

#: The bound for a warm boot plus one guest command.
WARM_LIMIT = 30.0


def qemu_processes() -> list[int]:
    """QEMU processes started by this test process and still there (others may run the lab too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0]
            ppid = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"qemu-system" in argv0 and ppid == os.getpid():
            found.append(int(entry.name))
    return found


def _report(request: pytest.FixtureRequest, what: str, seconds: float) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"iomem vm: {what}: {seconds:.1f} s")
    request.node.user_properties.append((what, round(seconds, 1)))


def test_warm_boot_and_command_is_fast(vm_lab: Any, request: pytest.FixtureRequest) -> None:
    started = time.monotonic()
    result = runner.run("cat /proc/version", assets=runner.prepare("pc"))
    elapsed = time.monotonic() - started
    _report(request, "warm set-up + boot + command", elapsed)
    assert result.status == 0 and "Linux version" in result.output
    assert elapsed < WARM_LIMIT


def test_cold_setup_with_an_empty_cache(
    vm_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.delenv("IOMEM_VM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert assets.cached_kernel("amd64") is None
    messages: list[str] = []
    started = time.monotonic()
    boot = runner.prepare("pc", progress=messages.append)
    setup = time.monotonic() - started
    result = runner.run("uname -r", assets=boot)
    total = time.monotonic() - started
    _report(request, "cold set-up (kernel download, unpack, initramfs)", setup)
    _report(request, "cold set-up + boot + command", total)
    assert result.output.strip() == boot.release
    assert str(boot.image).startswith(str(tmp_path / "iomem" / "vm"))
    assert any("apt-get download linux-image-amd64:amd64" in m for m in messages)
    assert any(m.startswith("building initramfs") for m in messages)
    # Now warm: no apt, no build.
    messages.clear()
    assert runner.prepare("pc", progress=messages.append).initrd == boot.initrd
    assert messages == []


def test_failing_commands_report_their_status(vm_lab: Any) -> None:
    result = vm_lab.run_batch(["echo one", "echo oops >&2; exit 3", "echo three"])
    assert [s.status for s in result.steps] == [0, 3, 0]
    assert result.steps[1].output == "oops\n"
    failed = r"'echo oops >&2; exit 3' on pc exited with status 3"
    with pytest.raises(GuestCommandError, match=failed):
        result.check()
    assert qemu_processes() == []


def test_cli_exits_with_the_guest_commands_status(vm_lab: Any) -> None:
    vm_lab.assets("pc")
    result = CliRunner().invoke(
        vm, ["run", "--append", "iomem=relaxed", "--", "sh", "-c", "cat /proc/cmdline; exit 7"]
    )
    assert result.exit_code == 7, result.output
    assert "iomem=relaxed" in result.output
    assert "command exited with status 7" in result.output
    assert qemu_processes() == []


def test_guest_that_never_powers_off_is_killed(vm_lab: Any) -> None:
    running: list[list[int]] = []  # QEMU seen while the guest command ran
    started = time.monotonic()
    with pytest.raises(VMTimeout, match="did not power off within 20 s") as info:
        vm_lab.run(
            "echo started; sleep 600",
            timeout=20,
            on_output=lambda text: running.append(qemu_processes()),
        )
    assert time.monotonic() - started < 40
    if running:  # the guest got as far as the command: the detector saw its QEMU
        assert running[0] == [info.value.pid]
        assert "init had started" in str(info.value)
    assert info.value.pid is not None
    assert not Path(f"/proc/{info.value.pid}").exists()
    assert qemu_processes() == []


def test_missing_kernel_package_is_a_clear_error(
    vm_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOMEM_VM_CACHE", str(tmp_path))
    with pytest.raises(VMSetupError) as info:
        assets.ensure_kernel("arm64", package="linux-image-0.0.0-nosuch-arm64")
    message = str(info.value)
    assert "cannot get Debian package linux-image-0.0.0-nosuch-arm64 for arm64" in message
    assert "apt-cache" in message
    assert qemu_processes() == []
    assert os.listdir(tmp_path / "debs") == []
