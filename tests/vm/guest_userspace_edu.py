"""Run inside a VM-lab guest: the userspace edu driver through every backend, as JSON.

``python guest_userspace_edu.py relaxed|strict|vfio`` writes
``$IOMEM_VM_OUT/userspace-<mode>.json``. Every step is recorded, failures as
their message, so one boot answers every test of its machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

STARTED = time.monotonic()
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import edu_userspace  # noqa: E402

from iomem.host import pci, procfs, uio, vfio  # noqa: E402
from iomem.host.devmem import map_devmem  # noqa: E402
from iomem.user import MapError, open_target  # noqa: E402

EDU = "1234:11e8"
facts: dict[str, Any] = {}


def step(name: str, fn: Any) -> Any:
    started = time.monotonic()
    try:
        facts[name] = fn()
    except Exception as e:  # recorded for the host-side assertions
        facts[name] = {
            "error": type(e).__name__,
            "message": str(e),
            "trace": traceback.format_exc(limit=4),
        }
    facts.setdefault("seconds", {})[name] = round(time.monotonic() - started, 3)
    return facts[name]


def error_of(fn: Any) -> dict[str, Any]:
    """The error ``fn`` raises (what a refusal test asserts on)."""
    try:
        fn()
    except Exception as e:
        return {"error": type(e).__name__, "message": str(e), "errno": getattr(e, "errno", None)}
    return {"error": None}


def cli(*args: str) -> dict[str, Any]:
    """The iomem command in this process (an interpreter start over 9p costs seconds)."""
    from click.testing import CliRunner

    from iomem.cli.main import cli as iomem_cli

    r = CliRunner().invoke(iomem_cli, list(args))
    return {"status": r.exit_code, "stdout": r.stdout, "stderr": r.stderr}


def cli_process(*args: str) -> dict[str, Any]:
    """The installed command itself, once, to show it works as a program."""
    p = subprocess.run(
        [sys.executable, "-m", "iomem", *args], capture_output=True, text=True, timeout=120
    )
    return {"status": p.returncode, "stdout": p.stdout, "stderr": p.stderr}


def edu_device() -> pci.PciDevice:
    return pci.find_pci(EDU)


def sysfs_checks() -> None:
    dev = edu_device()
    res = dev.resource(0)
    facts["edu"] = {
        "bdf": dev.bdf,
        "bar0": [res.start, res.end, res.flags],
        "bar0_text": res.describe(),
        "command": dev.command,
    }
    with pci.map_bar(EDU, 0) as m:
        step("sysfs", lambda: edu_userspace.run_checks(m))
    with dev.config() as cfg:
        step(
            "config",
            lambda: {
                "readw0": cfg.readw(0),
                "readl0": cfg.readl(0),
                "readb8": cfg.readb(8),
                "readq": error_of(lambda: cfg.readq(0)),
            },
        )
    step("wc_refused", lambda: error_of(lambda: pci.map_bar(EDU, 0, wc=True)))

    def decode_off() -> dict[str, Any]:
        cmd = dev.config_read(pci.PCI_COMMAND, 2)
        dev.config_write(pci.PCI_COMMAND, 2, cmd & ~pci.PCI_COMMAND_MEMORY)
        try:
            refused = error_of(lambda: pci.map_bar(EDU, 0))
            with pci.map_bar(EDU, 0, enable=True) as m:
                enabled_id = m.readl(0)
        finally:
            dev.config_write(pci.PCI_COMMAND, 2, cmd)
        return {"refused": refused, "enabled_id": enabled_id}

    step("decode_off", decode_off)

    held = [d for d in pci.pci_devices() if d.driver and d.claims(4)]
    if held:
        other = held[0]
        facts["held_device"] = {
            "bdf": other.bdf,
            "driver": other.driver,
            "bar4": [other.resource(4).start, other.resource(4).end],
        }
        step("held_write_refused", lambda: error_of(lambda: pci.map_bar(other, 4)))

        def held_read() -> Any:
            with pci.map_bar(other, 4, write=False) as m:
                return {"readl0": m.readl(0), "describe": m.describe()}

        step("held_read", held_read)
    # the I/O BAR of the pc machine's e1000 (no driver loaded): IOADDR at 0 reads harmlessly
    io = [d for d in pci.pci_devices() if (d.vendor, d.device) == (0x8086, 0x100E)]
    if io:
        dev_io = io[0]
        bar = next(r.index for r in dev_io.bars() if r.is_io)

        def io_bar() -> Any:
            with pci.map_bar(dev_io, bar, write=False) as m:
                return {
                    "bdf": dev_io.bdf,
                    "bar": bar,
                    "describe": m.describe(),
                    "readl0": m.readl(0),
                    "readq": error_of(lambda: m.readq(0)),
                }

        step("io_bar", io_bar)


def cli_checks(edu_base: int) -> None:
    step("cli_read", lambda: cli_process("read", "--pci", EDU, "0"))
    step("cli_write", lambda: cli("write", "--pci", EDU, "0x4", "32", "0x12345678"))
    step("cli_read_back", lambda: cli("read", "--pci", EDU, "0x4"))
    step("cli_dump", lambda: cli("dump", "--pci", EDU, "0", "0x100"))
    step("cli_set", lambda: cli("set", "--pci", EDU, "0x20", "0x80"))
    step("cli_clear", lambda: cli("clear", "--pci", EDU, "0x20", "0x80"))
    step("cli_poll", lambda: cli("poll", "--pci", EDU, "0x20", "0x1", "0", "--timeout", "2"))
    step(
        "cli_poll_timeout",
        lambda: cli("poll", "--pci", EDU, "0x0", "0xff", "0", "--timeout", "0.2"),
    )
    step("cli_devmem_read", lambda: cli("read", hex(edu_base)))
    step("cli_devmem_read64", lambda: cli("read", hex(edu_base + 0x80), "64"))
    step("cli_misaligned", lambda: cli("read", "--pci", EDU, "0x2"))


def devmem_checks(edu_base: int) -> None:
    def run() -> Any:
        with map_devmem(edu_base, 1 << 20) as m:
            return edu_userspace.run_checks(m)

    step("devmem", run)
    held = facts.get("held_device")
    if held:
        start = held["bar4"][0]
        step("devmem_held_write", lambda: error_of(lambda: map_devmem(start, 0x1000)))

        def held_read() -> Any:
            with map_devmem(start, 0x1000, write=False) as m:
                return {"readl0": m.readl(0)}

        step("devmem_held_read", held_read)
        step("cli_devmem_held_read", lambda: cli("read", hex(start)))
        step("cli_devmem_held_write", lambda: cli("write", hex(start), "32", "0"))
    step("devmem_ram", lambda: error_of(lambda: map_devmem(0x2000000, 0x1000, write=False)))


def uio_checks() -> None:
    edu_device().bind_new_id("uio_pci_generic")
    step(
        "uio_devices",
        lambda: [
            (d.id, d.name, d.version, [m.__dict__ for m in d.maps()]) for d in uio.uio_devices()
        ],
    )
    step("edu_driver_after_bind", lambda: edu_device().driver)

    def run() -> Any:
        with open_target("uio:uio_pci_generic", irq=True) as m:
            return edu_userspace.run_checks(m, m.irq)

    step("uio", run)
    step("uio_event", lambda: uio.find_uio("uio_pci_generic").event)


def vfio_checks() -> None:
    dev = edu_device()
    facts["edu"] = {"bdf": dev.bdf, "iommu_group": dev.iommu_group, "driver": dev.driver}
    step("vfio_unbound_refused", lambda: error_of(lambda: vfio.VfioDevice(dev)))
    step("bind", lambda: (dev.bind("vfio-pci"), dev.driver)[1])

    def info() -> Any:
        with vfio.VfioDevice(dev) as d:
            return {
                "flags": d.flags,
                "num_regions": d.num_regions,
                "num_irqs": d.num_irqs,
                "regions": [r.__dict__ for r in d.regions()],
                "irqs": [i.__dict__ for i in d.irqs()],
            }

    step("vfio_info", info)

    def mapped() -> Any:
        with open_target(f"vfio:{dev.bdf}", irq=True) as m:
            return edu_userspace.run_checks(m, m.irq)

    step("vfio", mapped)

    def read_write() -> Any:
        with open_target(f"vfio-rw:{dev.bdf}", irq=True) as m:
            return edu_userspace.run_checks(m, m.irq)

    step("vfio_rw", read_write)

    def raw_8byte() -> Any:
        with vfio.VfioDevice(dev) as d:
            off = d.region(0).offset + 0x80
            os.pwrite(d.fd, (0x0123456789ABCDEF).to_bytes(8, "little"), off)
            return int.from_bytes(os.pread(d.fd, 8, off), "little")

    step("vfio_raw_pread8", raw_8byte)

    def config() -> Any:
        with vfio.VfioDevice(dev) as d:
            win = d.window(vfio.VFIO_PCI_CONFIG_REGION_INDEX, write=False)
            from iomem.user import Mmio

            with Mmio(win) as cfg:
                return {"readl0": cfg.readl(0), "readw2": cfg.readw(2)}

    step("vfio_config", config)
    step("vfio_busy", lambda: error_of(lambda: _two_opens(dev)))
    step("cli_vfio_read", lambda: cli("read", "--vfio", dev.bdf, "0"))


def _two_opens(dev: pci.PciDevice) -> None:
    with vfio.VfioDevice(dev), vfio.VfioDevice(dev):
        pass


def main() -> None:
    mode = sys.argv[1]
    facts["mode"] = mode
    facts["python_start_to_main"] = round(time.monotonic() - STARTED, 3)
    facts["cmdline"] = Path("/proc/cmdline").read_text().strip()
    facts["release"] = os.uname().release
    step(
        "iomem_edu",
        lambda: [str(e) for e in procfs.read_iomem().walk() if e.name == edu_device().bdf],
    )
    if mode == "vfio":
        vfio_checks()
    else:
        sysfs_checks()
        base = edu_device().resource(0).start
        devmem_checks(base)
        if mode == "relaxed":
            cli_checks(base)
            uio_checks()
    out = Path(os.environ.get("IOMEM_VM_OUT", ".")) / f"userspace-{mode}.json"
    out.write_text(json.dumps(facts, indent=1, default=str) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    try:
        main()
    except MapError as e:
        print("guest failed:", e)
        raise
