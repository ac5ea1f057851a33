"""The QEMU machines of the lab and the QEMU command line that boots them.

Each machine is a QEMU board plus what the lab's facts depend on: ``pc``
keeps QEMU's default devices (VGA at 00:02.0, the e1000 NIC at 00:03.0) so
the edu device lands at 00:04.0 as on the reference boots; ``q35-iommu``
adds an Intel IOMMU, which VFIO needs because Debian's kernel has no VFIO
no-IOMMU mode; ``virt`` is the arm64 board whose DTB QEMU can dump. The
lab's own 9p shares come after the chosen devices, so they never move them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iomem.vm.assets import QEMU_TOOLS, host_arch
from iomem.vm.errors import VMError


@dataclass(frozen=True)
class Machine:
    """A QEMU board the lab can boot."""

    name: str
    arch: str  # Debian architecture of the guest kernel
    board: str  # the -machine value
    console: str  # the serial console's device name in the guest
    tcg_cpu: str  # the -cpu model under TCG (KVM uses "host")
    description: str
    default_devices: tuple[str, ...] = ()
    #: Devices that must be created before any other (the IOMMU).
    first_devices: tuple[str, ...] = ()
    #: Kernel arguments the board needs.
    append: tuple[str, ...] = ()
    qemu: str = ""  # the QEMU binary; empty: the architecture's default
    dtb: bool = False  # QEMU generates a DTB for it (dumpdtb works)
    extra_args: tuple[str, ...] = field(default=())

    @property
    def qemu_binary(self) -> str:
        return self.qemu or QEMU_TOOLS[self.arch].command

    @property
    def native(self) -> bool:
        """True if the guest can run the host's own programs (same architecture)."""
        return self.arch == host_arch()


MACHINES: dict[str, Machine] = {
    "pc": Machine(
        name="pc",
        arch="amd64",
        board="pc",
        console="ttyS0",
        tcg_cpu="max",
        description="x86_64 i440FX PC with QEMU's default devices and the edu device",
        default_devices=("edu",),
    ),
    "q35-iommu": Machine(
        name="q35-iommu",
        arch="amd64",
        board="q35,kernel-irqchip=split",
        console="ttyS0",
        tcg_cpu="max",
        description="x86_64 Q35 PC with an Intel IOMMU (for VFIO) and the edu device",
        default_devices=("edu",),
        first_devices=("intel-iommu,intremap=on",),
        append=("intel_iommu=on",),
    ),
    "virt": Machine(
        name="virt",
        arch="arm64",
        board="virt",
        console="ttyAMA0",
        tcg_cpu="cortex-a57",
        description="arm64 virt board (PL011 UART, PL031 RTC, PL061 GPIO, PCIe; DTB-described)",
        dtb=True,
    ),
}


def get_machine(machine: str | Machine) -> Machine:
    """The machine called ``machine`` (a Machine passes through)."""
    if isinstance(machine, Machine):
        return machine
    try:
        return MACHINES[machine]
    except KeyError:
        raise VMError(
            f"unknown machine {machine!r}; choose one of: {', '.join(MACHINES)}"
        ) from None


@dataclass(frozen=True)
class Share:
    """A host directory exported to the guest over virtio-9p."""

    tag: str
    path: Path
    readonly: bool

    def qemu_args(self) -> list[str]:
        path = str(self.path).replace(",", ",,")  # QEMU option syntax: ",," is a comma
        if self.readonly:
            opts = "security_model=passthrough,readonly=on,multidevs=remap"
        else:
            # "none": files are created as QEMU's user; works without root.
            opts = "security_model=none"
        return ["-virtfs", f"local,path={path},mount_tag={self.tag},{opts}"]


def kernel_cmdline(machine: Machine, append: Sequence[str] = (), quiet: bool = True) -> str:
    """The guest kernel's command line: console, panic handling, board needs, then ``append``."""
    args = [f"console={machine.console}", "panic=-1"]
    if quiet:
        args.append("quiet")
    args += list(machine.append)
    for item in append:
        args += item.split()
    return " ".join(args)


def qemu_command(
    machine: Machine,
    *,
    kernel: Path | None,
    initrd: Path | None,
    cmdline: str = "",
    devices: Sequence[str] | None = None,
    shares: Sequence[Share] = (),
    serial: Path | None = None,
    accel: str = "tcg",
    memory: str = "1G",
    smp: int = 1,
    qemu_args: Sequence[str] = (),
    dumpdtb: Path | None = None,
) -> list[str]:
    """The full QEMU argv for one boot of ``machine``.

    ``devices`` replaces the machine's default devices (``None`` keeps them).
    """
    board = machine.board
    if dumpdtb is not None:
        if not machine.dtb:
            raise VMError(f"machine {machine.name!r} has no QEMU-generated device tree")
        board += ",dumpdtb=" + str(dumpdtb).replace(",", ",,")
    if accel not in ("tcg", "kvm"):
        raise VMError(f"unknown accelerator {accel!r}; use tcg or kvm")
    cpu = "host" if accel == "kvm" else machine.tcg_cpu
    argv = [
        machine.qemu_binary,
        "-machine", board,
        "-accel", accel,
        "-cpu", cpu,
        "-m", memory,
        "-smp", str(smp),
        "-display", "none",
        "-monitor", "none",
        "-parallel", "none",
        "-serial", f"file:{serial}" if serial is not None else "none",
        "-no-reboot",
    ]  # fmt: skip
    if kernel is not None:
        argv += ["-kernel", str(kernel)]
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    if cmdline:
        argv += ["-append", cmdline]
    for dev in (*machine.first_devices, *(machine.default_devices if devices is None else devices)):
        argv += ["-device", dev]
    for share in shares:
        argv += share.qemu_args()
    argv += list(machine.extra_args) + list(qemu_args)
    return argv


def kvm_accessible() -> bool:
    """True if /dev/kvm exists and this process may open it read-write."""
    return os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.R_OK | os.W_OK)
