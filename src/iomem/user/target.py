"""Naming a mapping in one string, for scripts and the command line.

    pci:0000:00:04.0        PCI BAR0 through sysfs (pci:1234:11e8/2 for BAR2 of that device)
    pci-wc:1234:11e8/2      the same, write-combined (resource2_wc; prefetchable BARs)
    uio:uio_pci_generic     UIO map 0 of the device with that name (uio:uio0/1: map 1)
    vfio:0000:00:04.0       VFIO region 0 (BAR0); vfio-rw: for pread/pwrite instead of mmap
    devmem:0xfea00000+0x1000  a physical range through /dev/mem
    sim:pc:pci:1234:11e8    any of these on a simulated board (see :mod:`iomem.user.sim`)

A userspace driver takes one of these and never needs to know which it got.
With ``kernel=`` (a booted simulated kernel) the same strings reach that
kernel's /dev/mem, PCI sysfs, UIO and VFIO instead of this machine's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .mmio import Mmio

KINDS = ("pci", "pci-wc", "uio", "vfio", "vfio-rw", "devmem")


def _split_index(spec: str, what: str) -> tuple[str, int]:
    """``1234:11e8/2`` -> (``1234:11e8``, 2); no suffix -> index 0."""
    if "/" in spec:
        dev, _, idx = spec.rpartition("/")
        try:
            return dev, int(idx, 0)
        except ValueError:
            raise ValueError(f"{what} index must be a number, not {idx!r}") from None
    return spec, 0


def parse_size(text: str) -> int:
    """``0x1000``, ``4096``, ``4k``, ``1M``."""
    t = text.strip().lower()
    mult = 1
    if t and t[-1] in "kmg":
        mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[t[-1]]
        t = t[:-1]
    try:
        return int(t, 0) * mult
    except ValueError:
        raise ValueError(f"not a size: {text!r} (e.g. 0x1000, 4096, 4k)") from None


def open_target(target: str, *, write: bool = True, force: bool = False,
                enable: bool = False, irq: bool = False, root: str | Path = "/",
                kernel: Any = None) -> Mmio:
    """Open the mapping ``target`` names (see the module docstring).

    ``irq=True`` attaches the device's interrupt as ``.irq`` (UIO: /dev/uioX;
    VFIO: INTx through an eventfd); ``enable`` turns on a PCI function whose
    memory decode is off; ``force`` maps a range a driver holds for writing;
    ``kernel`` (or a ``sim:`` target) opens it on a simulated kernel.
    """
    if target.startswith("sim:") or kernel is not None:
        from .sim import open_sim, open_sim_target

        opts = {"write": write, "force": force, "enable": enable, "irq": irq}
        if target.startswith("sim:"):
            return open_sim_target(target, **opts)
        return open_sim(kernel, target, **opts)
    kind, sep, spec = target.partition(":")
    if not sep or kind not in KINDS:
        raise ValueError(f"not a mapping target: {target!r}; use one of "
                         f"{', '.join(k + ':...' for k in KINDS)}")
    if kind in ("pci", "pci-wc"):
        from ..host.pci import map_bar

        dev, bar = _split_index(spec, "BAR")
        return map_bar(dev, bar, wc=kind == "pci-wc", write=write, force=force, enable=enable,
                       root=root)
    if kind == "uio":
        from ..host.uio import map_uio

        dev, index = _split_index(spec, "map")
        return map_uio(dev, index, write=write, force=force, irq=irq, root=root)
    if kind in ("vfio", "vfio-rw"):
        from ..host.vfio import map_vfio

        dev, region = _split_index(spec, "region")
        return map_vfio(dev, region, use_mmap=kind == "vfio", write=write,
                        irq=0 if irq else None, root=root)
    from ..host.devmem import map_devmem

    addr, plus, size = spec.partition("+")
    phys = parse_size(addr)
    return map_devmem(phys, parse_size(size) if plus else 0x1000, write=write, force=force,
                      root=root)
