"""``iomem vm``: run a command in a real Linux guest, dump a board's DTB, set the lab up.

The command line is a thin layer over ``iomem.vm``: it shows setup progress
on stderr, streams the guest command's output as it comes, exits with the
guest command's status, and turns every lab error into one message.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from iomem.vm import assets as _assets
from iomem.vm.errors import VMError
from iomem.vm.machines import MACHINES, get_machine
from iomem.vm.runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, dump_dtb, prepare, run

_MACHINE_HELP = "; ".join(f"{m.name}: {m.description}" for m in MACHINES.values())


def _progress(message: str) -> None:
    click.echo(f"iomem vm: {message}", err=True)


def _fail(exc: VMError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("vm")
def vm() -> None:
    """Real Linux kernels under QEMU: run commands against real (emulated) devices."""


@vm.command("run", context_settings={"ignore_unknown_options": True})
@click.option(
    "--machine",
    "-m",
    type=click.Choice(list(MACHINES)),
    default="pc",
    show_default=True,
    help=_MACHINE_HELP,
)
@click.option(
    "--device",
    "devices",
    multiple=True,
    metavar="DEVICE",
    help="A QEMU -device value to add (repeatable); the machine's defaults stay, once each.",
)
@click.option(
    "--no-default-devices", is_flag=True, help="Leave out the machine's default devices (edu)."
)
@click.option(
    "--append", "append", multiple=True, metavar="ARGS", help="Kernel command-line arguments."
)
@click.option(
    "--module",
    "modules",
    multiple=True,
    metavar="'NAME [PARAM=VALUE...]'",
    help="A kernel module to load (with its dependencies) before the command.",
)
@click.option("--tracefs", is_flag=True, help="Mount tracefs (and debugfs) in the guest.")
@click.option(
    "--collect",
    multiple=True,
    metavar="PATH|COMMAND",
    help="A guest file or command output to bring back after the command (repeatable).",
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save collected files and $IOMEM_VM_OUT here instead of printing them.",
)
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="Seconds.")
@click.option(
    "--accel",
    type=click.Choice(["tcg", "kvm", "auto"]),
    default=None,
    help="Accelerator [default: tcg, or $IOMEM_VM_ACCEL].",
)
@click.option("--memory", default=DEFAULT_MEMORY, show_default=True)
@click.option("--smp", type=int, default=1, show_default=True)
@click.option(
    "--bare",
    is_flag=True,
    help="Add no lab device (no 9p): busybox commands, results at the end.",
)
@click.option("--pvh", is_flag=True, help="amd64: boot the uncompressed kernel (faster, PVH).")
@click.option("--verbose-kernel", is_flag=True, help="Boot without 'quiet'.")
@click.option("--console", "show_console", is_flag=True, help="Print the guest console at the end.")
@click.option("--keep", is_flag=True, help="Keep the job directory (scripts, console log).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cmd(
    machine: str,
    devices: tuple[str, ...],
    no_default_devices: bool,
    append: tuple[str, ...],
    modules: tuple[str, ...],
    tracefs: bool,
    collect: tuple[str, ...],
    output_dir: Path | None,
    timeout: float,
    accel: str | None,
    memory: str,
    smp: int,
    bare: bool,
    pvh: bool,
    verbose_kernel: bool,
    show_console: bool,
    keep: bool,
    command: tuple[str, ...],
) -> None:
    """Boot a guest and run COMMAND in it (after '--'); exit with its status.

    On pc and q35-iommu COMMAND runs with this host's own programs (its
    Python and this project included) in a chroot that sees the guest's
    /proc, /sys and /dev; on virt, and with --bare, it runs with busybox.
    One argument is taken as a shell command line:
    iomem vm run -- 'cat /proc/iomem | head'.
    """
    mach = get_machine(machine)
    chosen = [] if no_default_devices else list(mach.default_devices)
    chosen += [d for d in devices if d not in chosen]
    cmd: str | list[str] = command[0] if len(command) == 1 else list(command)
    started = time.monotonic()
    try:
        assets = prepare(mach, progress=_progress, pvh=pvh)
        result = run(
            cmd,
            machine=mach,
            devices=chosen,
            append=append,
            modules=modules,
            tracefs=tracefs,
            collect=collect,
            timeout=timeout,
            accel=accel,
            memory=memory,
            smp=smp,
            assets=assets,
            progress=_progress,
            on_output=lambda text: (sys.stdout.write(text), sys.stdout.flush()),
            keep=keep,
            quiet=not verbose_kernel,
            bare=bare,
        )
    except VMError as exc:
        raise _fail(exc) from None
    if show_console:
        click.echo(result.console, err=True)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for key, data in result.files.items():
            dest = output_dir / _file_name(key, collected=key in collect)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        if result.files:
            _progress(f"saved {len(result.files)} file(s) in {output_dir}")
    else:
        for key, data in result.files.items():
            click.echo(f"==> {key} <==")
            click.echo(data.decode("utf-8", errors="replace"), nl=not data.endswith(b"\n"))
    for key, why in result.missing.items():
        _progress(f"could not collect {key}: {why}")
    _progress(
        f"{mach.name} guest ran in {time.monotonic() - started:.1f} s; "
        f"command exited with status {result.status}"
    )
    sys.exit(result.status)


def _file_name(key: str, collected: bool) -> str:
    """Where a result file goes under --output-dir.

    Collected guest paths keep their shape (``proc/iomem``), collected command
    outputs get a file-name-safe name (``lspci_-v.txt``), and files the
    command wrote into $IOMEM_VM_OUT go under ``out/``.
    """
    if not collected:
        return "out/" + key
    if key.startswith("/"):
        return key.lstrip("/")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key) + ".txt"


@vm.command("dtb")
@click.option("--machine", "-m", default="virt", show_default=True, help="A DTB-described machine.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File."
)
@click.option("--memory", default=DEFAULT_MEMORY, show_default=True)
@click.option("--smp", type=int, default=1, show_default=True)
@click.option("--device", "devices", multiple=True, metavar="DEVICE", help="A QEMU -device value.")
def dtb_cmd(machine: str, output: Path, memory: str, smp: int, devices: tuple[str, ...]) -> None:
    """Write the device tree blob QEMU generates for MACHINE."""
    try:
        mach = get_machine(machine)
        path = dump_dtb(
            output,
            mach,
            memory=memory,
            smp=smp,
            devices=list(devices) if devices else None,
            progress=_progress,
        )
    except VMError as exc:
        raise _fail(exc) from None
    _progress(f"wrote {path} ({path.stat().st_size} bytes)")


@vm.command("setup")
@click.option(
    "--machine",
    "-m",
    "machines",
    multiple=True,
    type=click.Choice(list(MACHINES)),
    help="Machines to prepare (repeatable) [default: all].",
)
def setup_cmd(machines: tuple[str, ...]) -> None:
    """Install QEMU (as root), fetch Debian's kernels and build the initramfs images."""
    names = machines or tuple(MACHINES)
    started = time.monotonic()
    done: set[str] = set()
    try:
        for name in names:
            mach = get_machine(name)
            if mach.arch in done:
                continue
            assets = prepare(mach, progress=_progress)
            done.add(mach.arch)
            _progress(f"{mach.arch}: kernel {assets.release}, initramfs {assets.initrd}")
    except VMError as exc:
        raise _fail(exc) from None
    _progress(f"cache: {_assets.cache_dir()}; ready in {time.monotonic() - started:.1f} s")
