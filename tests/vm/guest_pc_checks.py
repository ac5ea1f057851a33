"""Run inside the pc guest with the host's own Python: edu facts, written as JSON.

The VM lab runs this once per test module; the tests read the JSON back. It
maps the edu device's BAR0 through PCI sysfs (``resource0``) with plain
mmap and a typed memoryview, so every access is one aligned 32-bit load or
store.
"""

import json
import mmap
import os
import sys
import time
from pathlib import Path

EDU = ("0x1234", "0x11e8")


def pci_devices() -> list[dict[str, str]]:
    devices = []
    for dev in sorted(Path("/sys/bus/pci/devices").iterdir()):
        devices.append(
            {
                "slot": dev.name,
                "vendor": (dev / "vendor").read_text().strip(),
                "device": (dev / "device").read_text().strip(),
                "class": (dev / "class").read_text().strip(),
            }
        )
    return devices


def edu_facts(slot: str) -> dict[str, object]:
    base = Path("/sys/bus/pci/devices") / slot
    facts: dict[str, object] = {
        "slot": slot,
        "resource": (base / "resource").read_text(),
        "resource0_size": (base / "resource0").stat().st_size,
        "revision": (base / "revision").read_text().strip(),
        "subsystem": [
            (base / "subsystem_vendor").read_text().strip(),
            (base / "subsystem_device").read_text().strip(),
        ],
    }
    (base / "enable").write_text("1")
    fd = os.open(base / "resource0", os.O_RDWR | os.O_SYNC)
    try:
        with mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            regs = memoryview(m).cast("I")
            facts["id"] = regs[0x00 // 4]
            regs[0x04 // 4] = 0x12345678
            facts["liveness_after_0x12345678"] = regs[0x04 // 4]
            regs[0x04 // 4] = 0
            facts["liveness_after_0"] = regs[0x04 // 4]
            regs[0x08 // 4] = 5
            deadline = time.monotonic() + 5
            while regs[0x20 // 4] & 1 and time.monotonic() < deadline:
                pass
            facts["factorial_5"] = regs[0x08 // 4]
            facts["unknown_offset_0x30"] = regs[0x30 // 4]
            regs.release()
    finally:
        os.close(fd)
    return facts


def main() -> None:
    devices = pci_devices()
    facts: dict[str, object] = {
        "python": sys.version,
        "executable": sys.executable,
        "uname": os.uname().release,
        "pci": devices,
        "modules_dir": os.environ.get("IOMEM_VM_MODULES", ""),
        "modules_dir_has_uio": Path(
            os.environ.get("IOMEM_VM_MODULES", "/nonexistent"), "kernel/drivers/uio/uio.ko"
        ).is_file(),
    }
    slots = [d["slot"] for d in devices if (d["vendor"], d["device"]) == EDU]
    if slots:
        facts["edu"] = edu_facts(slots[0])
    out = Path(os.environ["IOMEM_VM_OUT"]) / "pc.json"
    out.write_text(json.dumps(facts, indent=1) + "\n")
    print("edu at", slots)


if __name__ == "__main__":
    main()
