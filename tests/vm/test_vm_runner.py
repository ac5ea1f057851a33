"""The runner's job protocol, errors and clean-up, with a fake QEMU that boots nothing."""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from iomem.vm import runner
from iomem.vm.cli import vm
from iomem.vm.errors import GuestCommandError, GuestSetupError, VMBootError, VMError, VMTimeout
from iomem.vm.machines import MACHINES, Machine

FAKE = Path(__file__).with_name("fake_qemu.py")


@pytest.fixture()
def fake_pc(tmp_path: Path) -> Machine:
    exe = tmp_path / "qemu-fake"
    exe.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} "$@"\n')
    exe.chmod(0o755)
    return dataclasses.replace(MACHINES["pc"], qemu=str(exe))


@pytest.fixture()
def fake_assets(tmp_path: Path) -> runner.BootAssets:
    (tmp_path / "vmlinuz").write_bytes(b"k")
    (tmp_path / "initrd").write_bytes(b"i")
    return runner.BootAssets(image=tmp_path / "vmlinuz", initrd=tmp_path / "initrd", release="9.9")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_job_protocol_results_and_collected_files(
    fake_pc: Machine,
    fake_assets: runner.BootAssets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_QEMU_ARGS", str(tmp_path / "args"))
    seen: list[str] = []
    result = runner.run_batch(
        [
            "echo hello; echo to-stderr >&2",
            ["sh", "-c", 'echo "$IOMEM_VM_MACHINE $GREETING"; pwd; exit 3'],
            'echo \'{"ok": true}\' > "$IOMEM_VM_OUT/result.json"',
        ],
        machine=fake_pc,
        assets=fake_assets,
        env={"GREETING": "hi there"},
        cwd=str(tmp_path),
        collect=[str(tmp_path / "args"), "echo collected-output", "/nonexistent/file"],
        append=["iomem=relaxed"],
        on_output=seen.append,
        timeout=60,
    )
    assert [s.status for s in result.steps] == [0, 3, 0]
    assert result.status == 3 and not result.ok
    assert result.steps[0].output == "hello\nto-stderr\n"
    assert result.steps[1].output == f"pc hi there\n{tmp_path}\n"
    assert result.json("result.json") == {"ok": True}
    assert result.text("echo collected-output") == "collected-output\n"
    assert "iomem=relaxed" in result.text(str(tmp_path / "args"))
    assert "/nonexistent/file" in result.missing
    with pytest.raises(KeyError, match="was not collected"):
        result.text("/nonexistent/file")
    assert "iomem=relaxed" in result.cmdline
    assert "".join(seen) == result.output
    with pytest.raises(GuestCommandError, match="exited with status 3") as info:
        result.check()
    assert info.value.status == 3
    # The job directory is gone.
    share = next(a for a in result.qemu_argv if "mount_tag=iomemjob" in a)
    job_dir = Path(share.split("path=")[1].split(",mount_tag")[0])
    assert job_dir.name.startswith("iomem-vm-") and not job_dir.exists()


def test_python_snippet_runs_with_host_interpreter(
    fake_pc: Machine, fake_assets: runner.BootAssets
) -> None:
    result = runner.run(
        python="import sys, os; print(sys.executable, os.environ['IOMEM_VM'])",
        machine=fake_pc,
        assets=fake_assets,
        check=True,
    )
    assert result.output.strip() == f"{sys.executable} 1"


def test_python_refused_on_a_foreign_guest() -> None:
    virt = MACHINES["virt"]
    if virt.native:
        pytest.skip("the host is arm64")
    with pytest.raises(VMError, match="cannot run this host's Python"):
        runner.run(python="print(1)", machine=virt)


def test_hung_guest_is_killed_with_its_children(
    fake_pc: Machine,
    fake_assets: runner.BootAssets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_QEMU_MODE", "hang")
    monkeypatch.setenv("FAKE_QEMU_CHILD", str(tmp_path / "child"))
    started = time.monotonic()
    with pytest.raises(VMTimeout) as info:
        runner.run("true", machine=fake_pc, assets=fake_assets, timeout=1.5)
    assert time.monotonic() - started < 20
    message = str(info.value)
    assert "did not power off within 1.5 s" in message
    assert "init had started" in message
    assert "fake kernel booting" in message  # the console's last lines
    assert info.value.pid is not None and not _alive(info.value.pid)
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def test_qemu_failure_is_reported(
    fake_pc: Machine, fake_assets: runner.BootAssets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_QEMU_MODE", "crash")
    with pytest.raises(VMBootError, match="QEMU exit status 1.*not a valid device model name"):
        runner.run("true", machine=fake_pc, assets=fake_assets, timeout=30)


def test_guest_setup_error_and_early_power_off(
    fake_pc: Machine, fake_assets: runner.BootAssets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_QEMU_MODE", "setup-error")
    with pytest.raises(GuestSetupError, match="could not run the job: cannot load kernel module"):
        runner.run("true", machine=fake_pc, assets=fake_assets, timeout=30)
    monkeypatch.setenv("FAKE_QEMU_MODE", "no-done")
    with pytest.raises(VMBootError, match="stopped before finishing its job"):
        runner.run("true", machine=fake_pc, assets=fake_assets, timeout=30)


def test_missing_qemu_binary(fake_assets: runner.BootAssets) -> None:
    mach = dataclasses.replace(MACHINES["pc"], qemu="/nonexistent/qemu-system-x86_64")
    with pytest.raises(VMBootError, match="cannot start /nonexistent/qemu-system-x86_64"):
        runner.run("true", machine=mach, assets=fake_assets)


def test_kvm_refused_for_foreign_guest(fake_assets: runner.BootAssets) -> None:
    with pytest.raises(VMError, match="KVM cannot run the virt guest"):
        runner.run("true", machine="virt", assets=fake_assets, accel="kvm")


def test_cli_errors_are_messages_not_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = CliRunner()
    result = cli.invoke(vm, ["run", "--machine", "sparc", "--", "true"])
    assert result.exit_code == 2 and "Invalid value for '--machine'" in result.output
    result = cli.invoke(vm, ["dtb", "--machine", "pc", "-o", "/tmp/x.dtb"])
    assert result.exit_code == 1
    assert "Error: machine 'pc' has no QEMU-generated device tree" in result.output
    assert "Traceback" not in result.output

    def no_tools(*args: object, **kwargs: object) -> None:
        from iomem.vm.errors import VMSetupError

        raise VMSetupError("the VM lab needs qemu-system-x86_64 (Debian package qemu-system-x86)")

    monkeypatch.setattr(runner, "prepare", no_tools)
    monkeypatch.setattr("iomem.vm.cli.prepare", no_tools)
    result = cli.invoke(vm, ["run", "--", "true"])
    assert result.exit_code == 1
    assert "Error: the VM lab needs qemu-system-x86_64" in result.output


def test_cli_run_streams_output_and_exits_with_status(
    fake_pc: Machine,
    fake_assets: runner.BootAssets,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("iomem.vm.cli.prepare", lambda *a, **k: fake_assets)
    monkeypatch.setattr("iomem.vm.cli.get_machine", lambda name: fake_pc)
    result = CliRunner().invoke(
        vm,
        [
            "run",
            "--collect",
            "echo from-collect",
            "-o",
            str(tmp_path / "o"),
            "--",
            "sh",
            "-c",
            "echo out-line; echo x > $IOMEM_VM_OUT/f.txt; exit 4",
        ],
    )
    assert result.exit_code == 4
    assert "out-line" in result.output
    assert "command exited with status 4" in result.output
    assert (tmp_path / "o" / "echo_from-collect.txt").read_text() == "from-collect\n"
    assert (tmp_path / "o" / "out" / "f.txt").read_text() == "x\n"


def test_auto_accel_probes_kvm_once_and_remembers(
    fake_assets: runner.BootAssets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IOMEM_VM_CACHE", str(tmp_path))
    pc = MACHINES["pc"]
    if not pc.native:
        pytest.skip("the host is not amd64")
    monkeypatch.setattr(runner, "kvm_accessible", lambda: False)
    assert runner._resolve_accel("auto", pc, fake_assets) == "tcg"
    with pytest.raises(VMError, match="/dev/kvm is missing or not writable"):
        runner._resolve_accel("kvm", pc, fake_assets)
    monkeypatch.setattr(runner, "kvm_accessible", lambda: True)
    probes: list[str | None] = []

    def hanging_probe(mach: Machine, commands: list[str], **kw: object) -> None:
        probes.append(kw.get("accel"))  # type: ignore[arg-type]
        raise VMTimeout("the guest did not power off within 30 s")

    monkeypatch.setattr(runner, "_boot", hanging_probe)
    said: list[str] = []
    assert runner._resolve_accel("auto", pc, fake_assets, said.append) == "tcg"
    assert runner._resolve_accel("auto", pc, fake_assets) == "tcg"
    assert probes == ["kvm"]  # probed once, then remembered
    assert said[-1] == "KVM did not answer: using TCG"
    monkeypatch.setenv("IOMEM_VM_ACCEL", "kvm")
    assert runner._resolve_accel(None, pc, fake_assets) == "kvm"


def test_lab_skips_outside_ci_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from iomem.vm import pytest_plugin
    from iomem.vm.errors import VMSetupError

    def no_qemu(*args: object, **kwargs: object) -> None:
        raise VMSetupError("the VM lab needs qemu-system-x86_64 (Debian package qemu-system-x86)")

    monkeypatch.setattr(runner, "prepare", no_qemu)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("IOMEM_VM", raising=False)
    lab = pytest_plugin.Lab()
    with pytest.raises(pytest.skip.Exception, match="VM lab unavailable: the VM lab needs qemu"):
        lab.assets("pc")
    with pytest.raises(pytest.skip.Exception):  # remembered: no second attempt
        lab.run("true")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true but failed"):
        pytest_plugin.Lab().assets("pc")
    monkeypatch.setenv("CI", "false")
    monkeypatch.setenv("IOMEM_VM", "0")
    with pytest.raises(pytest.skip.Exception, match="disabled by IOMEM_VM=0"):
        pytest_plugin.Lab().assets("pc")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], ["edu"]),
        (["--device", "edu"], ["edu"]),
        (["--device", "e1000", "--device", "edu"], ["edu", "e1000"]),
        (["--no-default-devices", "--device", "e1000"], ["e1000"]),
    ],
)
def test_cli_devices_add_to_the_defaults(
    options: list[str],
    expected: list[str],
    fake_pc: Machine,
    fake_assets: runner.BootAssets,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("FAKE_QEMU_ARGS", str(tmp_path / "args"))
    monkeypatch.setattr("iomem.vm.cli.prepare", lambda *a, **k: fake_assets)
    monkeypatch.setattr("iomem.vm.cli.get_machine", lambda name: fake_pc)
    result = CliRunner().invoke(vm, ["run", *options, "--", "true"])
    assert result.exit_code == 0, result.output
    args = (tmp_path / "args").read_text().splitlines()
    assert [args[i + 1] for i, a in enumerate(args) if a == "-device"] == expected


def test_bad_requests_are_refused_before_booting(
    fake_pc: Machine, fake_assets: runner.BootAssets
) -> None:
    with pytest.raises(VMError, match="nothing to run"):
        runner.run(machine=fake_pc, assets=fake_assets)
    with pytest.raises(VMError, match="a bare guest cannot run this host's Python"):
        runner.run(python="print(1)", bare=True, machine=fake_pc, assets=fake_assets)
    with pytest.raises(VMError, match="not a valid environment variable name: 'A-B'"):
        runner.run("true", env={"A-B": "1"}, machine=fake_pc, assets=fake_assets)
    with pytest.raises(VMError, match="carry no module index"):
        runner.run("true", modules=["uio"], machine=fake_pc, assets=fake_assets)
