"""Managed resources (drivers/base/devres.c, lib/devres.c, kernel/resource.c devm_*).

Each ``devm_*`` call records a release action on the device; the actions
run last-in first-out when the driver unbinds or its probe fails, so a
``devm_ioremap_resource`` is undone as iounmap, then the region release.
"""

from __future__ import annotations

import sys
from typing import Any

from . import ioport as F
from .device import Device, dev_err
from .errno import EBUSY, EINVAL, ENOMEM, ErrPtr
from .io import IoMem
from .kernel import Kernel, current_kernel
from .resource import Resource, resource_size, resource_type
from .vsprintf import pR


def _k(dev: Device | None) -> Kernel:
    """The device's kernel; for a NULL device the current one, where the dereference that
    follows (devres_add(), dev_name(), ...) oopses as in the kernel."""
    return getattr(dev, "kernel", None) or current_kernel()


def _bug_lines(k: Kernel, file: str, line: int) -> list[str]:
    """What ``BUG()`` logs before the oops's CPU line and trace: report_bug()'s cut-here
    and "kernel BUG at" lines, then the arch's die() (x86: the undefined instruction;
    arm64: the BRK #0x800).  The caller oopses with them in its own frame, so the call
    trace starts at the function that hit the BUG."""
    k.printk_warn("------------[ cut here ]------------")
    trap = ("invalid opcode: 0000 [#N] PREEMPT SMP NOPTI" if k.arch.is_x86 else
            "Internal error: Oops - BUG: 00000000f2000800 [#N] SMP")
    return [f"kernel BUG at {file}:{line}!", trap]


# -- regions ------------------------------------------------------------------------

def _devm_region_release(dev: Device, data: Any) -> None:
    parent, start, n = data
    _k(dev).release_region_in(parent, start, n)


def __devm_request_region(dev: Device, parent: Resource, start: int, n: int,
                          name: str | None) -> Resource | None:
    k = _k(dev)
    res = k._Kernel__request_region(parent, start, n, name)
    if res is not None:
        k.devices.devres_add(dev, _devm_region_release, (parent, start, n),
                             "devm_region_release")
    return res


def devm_request_mem_region(dev: Device, start: int, n: int, name: str | None
                            ) -> Resource | None:
    return __devm_request_region(dev, _k(dev).iomem_resource, start, n, name)


def devm_request_region(dev: Device, start: int, n: int, name: str | None) -> Resource | None:
    return __devm_request_region(dev, _k(dev).ioport_resource, start, n, name)


def __devm_release_region(dev: Device, parent: Resource, start: int, n: int) -> None:
    k = _k(dev)
    k.release_region_in(parent, start, n)
    node = k.devices.devres_remove(dev, _devm_region_release,
                                   lambda d: d == (parent, start, n))
    if node is None:
        k.WARN_ON("kernel/resource.c", "__devm_release_region")


def devm_release_mem_region(dev: Device, start: int, n: int) -> None:
    __devm_release_region(dev, _k(dev).iomem_resource, start, n)


def devm_release_region(dev: Device, start: int, n: int) -> None:
    __devm_release_region(dev, _k(dev).ioport_resource, start, n)


def _devm_resource_release(dev: Device, data: Any) -> None:
    from . import resource as R
    R.release_resource(data)


def devm_request_resource(dev: Device, root: Resource, new: Resource) -> int:
    from . import resource as R
    conflict = R.request_resource_conflict(root, new)
    if conflict is not None:
        dev_err(dev, f"resource collision: {pR(new)} conflicts with {conflict.name} "
                     f"{pR(conflict)}")
        return -EBUSY
    _k(dev).devices.devres_add(dev, _devm_resource_release, new, "devm_resource_release")
    return 0


def devm_release_resource(dev: Device, new: Resource) -> None:
    k = _k(dev)
    node = k.devices.devres_remove(dev, _devm_resource_release, lambda d: d is new)
    if node is None:
        k.WARN_ON("kernel/resource.c", "devm_release_resource")
        return
    _devm_resource_release(dev, new)


# -- mappings -----------------------------------------------------------------------

def devm_ioremap_release(dev: Device, addr: Any) -> None:
    _k(dev).iounmap(addr)


_VARIANT = {"": "ioremap", "uc": "ioremap_uc", "wc": "ioremap_wc", "np": "ioremap_np"}


def __devm_ioremap(dev: Device, offset: int, size: int, kind: str = "") -> IoMem | None:
    k = _k(dev)
    addr = k._ioremap(_VARIANT[kind], offset, size)
    if addr is not None:
        k.devices.devres_add(dev, devm_ioremap_release, addr, "devm_ioremap_release")
    return addr


def devm_ioremap(dev: Device, offset: int, size: int) -> IoMem | None:
    return __devm_ioremap(dev, offset, size)


def devm_ioremap_uc(dev: Device, offset: int, size: int) -> IoMem | None:
    return __devm_ioremap(dev, offset, size, "uc")


def devm_ioremap_wc(dev: Device, offset: int, size: int) -> IoMem | None:
    return __devm_ioremap(dev, offset, size, "wc")


def devm_ioremap_np(dev: Device, offset: int, size: int) -> IoMem | None:
    return __devm_ioremap(dev, offset, size, "np")


def devm_iounmap(dev: Device, addr: IoMem) -> None:
    k = _k(dev)
    node = k.devices.devres_remove(dev, devm_ioremap_release, lambda d: d == addr)
    if node is None:
        k.WARN_ON("lib/devres.c", "devm_iounmap")
    k.iounmap(addr)


IORESOURCE_MEM_NONPOSTED = 1 << 3  # a MEM-specific bus bit (include/linux/ioport.h)


def __devm_ioremap_resource(dev: Device, res: Resource | None, kind: str = ""
                            ) -> IoMem | ErrPtr:
    if dev is None:  # BUG_ON(!dev); the line, as WARN() gives it, is the simulator's
        k = _k(dev)
        k.oops(_bug_lines(k, "lib/devres.c", sys._getframe().f_lineno))
    if res is None or resource_type(res) != F.IORESOURCE_MEM:
        dev_err(dev, "invalid resource")
        return ErrPtr(-EINVAL)
    if kind == "" and res.flags & IORESOURCE_MEM_NONPOSTED:
        kind = "np"
    size = resource_size(res)
    pretty = f"{dev.name} {res.name}" if res.name else dev.name
    if devm_request_mem_region(dev, res.start, size, pretty) is None:
        dev_err(dev, f"can't request region for resource {pR(res)}")
        return ErrPtr(-EBUSY)
    addr = __devm_ioremap(dev, res.start, size, kind)
    if addr is None:
        dev_err(dev, f"ioremap failed for resource {pR(res)}")
        devm_release_mem_region(dev, res.start, size)
        return ErrPtr(-ENOMEM)
    return addr


def devm_ioremap_resource(dev: Device, res: Resource | None) -> IoMem | ErrPtr:
    """Claim and map a MEM resource for the driver's lifetime; ERR_PTR on failure."""
    return __devm_ioremap_resource(dev, res)


def devm_ioremap_resource_wc(dev: Device, res: Resource | None) -> IoMem | ErrPtr:
    return __devm_ioremap_resource(dev, res, "wc")


# -- generic managed actions ---------------------------------------------------------

def devm_add_action(dev: Device, action: Any, data: Any = None) -> int:
    _k(dev).devices.devres_add(dev, lambda d, x: action(x), data, getattr(action, "__name__",
                                                                          "action"))
    return 0


def devm_add_action_or_reset(dev: Device, action: Any, data: Any = None) -> int:
    return devm_add_action(dev, action, data)
