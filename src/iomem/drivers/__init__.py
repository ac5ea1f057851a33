"""Python drivers for the simulated kernel, written like their Linux twins.

The drivers built into the simulated kernel, in the order Linux 6.1 runs
their initcalls (level, then link order), are :data:`BUILTIN_DRIVERS`; a
device-tree boot registers them around the populate (``arch_initcall_sync``),
so ``uart-pl011`` (an ``arch_initcall``) probes as its device appears and
the ``device_initcall`` drivers probe the devices that are already there.
:func:`driver_for_compatible` says which driver serves a node (``iomem dt``'s
DRIVER column).  Early ``*_OF_DECLARE`` code (the SP804 timer) registers
itself with the kernel's tables when this package is imported.

- :mod:`.pl011` ``uart-pl011``, :mod:`.pl031` ``rtc-pl031``, :mod:`.pl061`
  ``pl061_gpio`` (AMBA); :mod:`.of_serial` ``of_serial`` (8250/16550);
  :mod:`.syscon` (regmap over a shared register block); :mod:`.sp804` and the
  architected timer (TIMER_OF_DECLARE, in :mod:`iomem.kernel.of`);
  :mod:`.arm_pmu` ``armv8-pmu``; :mod:`.pci_host_generic` ``pci-host-generic``
  (ECAM host bridges); :mod:`.edu` (PCI).
- :mod:`.serial_core`, :mod:`.rtc_core`, :mod:`.gpiolib`,
  :mod:`.clocksource`: the subsystem cores those drivers register with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: initcall levels in the order do_initcalls runs them; "arch_sync" is where the
#: device tree is populated (of_platform_default_populate_init)
INITCALL_LEVELS = ("early", "core", "postcore", "arch", "arch_sync", "subsys", "fs",
                   "rootfs", "device", "late")


@dataclass(frozen=True)
class BuiltinDriver:
    """A driver built into the simulated kernel: its name (what sysfs and dev_printk
    show), initcall level, init function and the compatibles it serves."""

    name: str
    level: str
    init: Callable[[], int]
    compatible: tuple[str, ...]
    kind: str = "driver"  # or "timer" (TIMER_OF_DECLARE), "library" (syscon)

    def __str__(self) -> str:
        return self.name


def _builtin() -> list[BuiltinDriver]:
    from . import arm_pmu, of_serial, pci_host_generic, pl011, pl031, pl061, sp804, syscon

    return [
        BuiltinDriver("syscon", "postcore", syscon.syscon_init, ("syscon",), "library"),
        BuiltinDriver("uart-pl011", "arch", pl011.pl011_init, ("arm,pl011",)),
        BuiltinDriver("armv8-pmu", "device", arm_pmu.armv8_pmu_driver_init,
                      tuple(i.compatible for i in arm_pmu.armv8_pmu_of_device_ids)),
        BuiltinDriver("pl061_gpio", "device", pl061.pl061_gpio_init, ("arm,pl061",)),
        BuiltinDriver("pci-host-generic", "device", pci_host_generic.gen_pci_init,
                      tuple(i.compatible for i in pci_host_generic.gen_pci_of_match)),
        BuiltinDriver("serial8250", "device", of_serial.serial8250_init, (), "core"),
        BuiltinDriver("of_serial", "device", of_serial.of_platform_serial_init,
                      tuple(i.compatible for i in of_serial.of_platform_serial_table)),
        BuiltinDriver("rtc-pl031", "device", pl031.pl031_init, ("arm,pl031",)),
        BuiltinDriver("sp804", "early", lambda: 0, ("arm,sp804",), "timer"),
        BuiltinDriver("arch_timer", "early", lambda: 0, ("arm,armv8-timer", "arm,armv7-timer"),
                      "timer"),
    ]


_BUILTIN: list[BuiltinDriver] | None = None


def builtin_drivers() -> list[BuiltinDriver]:
    """The built-in drivers in initcall order."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = _builtin()
    order = {lvl: i for i, lvl in enumerate(INITCALL_LEVELS)}
    return sorted(_BUILTIN, key=lambda d: order[d.level])


def driver_for_compatible(compat: str | Iterable[str]) -> BuiltinDriver | None:
    """The built-in driver that would serve a node with this ``compatible`` list
    (most specific entry first, as OF matching scores them), or None."""
    if isinstance(compat, str):
        compat = [compat]
    drivers = builtin_drivers()
    for c in compat:
        for d in drivers:
            if c in d.compatible:
                return d
    return None


__all__ = ["INITCALL_LEVELS", "BuiltinDriver", "builtin_drivers", "driver_for_compatible"]
