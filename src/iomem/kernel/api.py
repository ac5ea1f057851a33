"""The kernel's functions by their C names, for driver code.

Each finds the kernel it runs in (see :func:`current_kernel`), so a Python
driver reads like its C twin: ``request_mem_region(res.start,
resource_size(res), "mydev")``.  ``iomem_resource`` and ``ioport_resource``
resolve to the current kernel's roots on attribute access.
"""

from __future__ import annotations

from .io import IoMem
from .kernel import current_kernel
from .printk import KERN_DEBUG, KERN_ERR, KERN_INFO, KERN_NOTICE, KERN_WARNING
from .resource import Resource


def request_mem_region(start: int, n: int, name: str | None) -> Resource | None:
    return current_kernel().request_mem_region(start, n, name)


def request_mem_region_muxed(start: int, n: int, name: str | None) -> Resource | None:
    return current_kernel().request_mem_region_muxed(start, n, name)


def request_mem_region_exclusive(start: int, n: int, name: str | None) -> Resource | None:
    return current_kernel().request_mem_region_exclusive(start, n, name)


def release_mem_region(start: int, n: int) -> None:
    current_kernel().release_mem_region(start, n)


def request_region(start: int, n: int, name: str | None) -> Resource | None:
    return current_kernel().request_region(start, n, name)


def release_region(start: int, n: int) -> None:
    current_kernel().release_region(start, n)


def request_resource(root: Resource, new: Resource) -> int:
    return current_kernel().request_resource(root, new)


def insert_resource(parent: Resource, new: Resource) -> int:
    return current_kernel().insert_resource(parent, new)


def release_resource(old: Resource) -> int:
    return current_kernel().release_resource(old)


def remove_resource(old: Resource) -> int:
    return current_kernel().remove_resource(old)


def _variant(name: str):
    def fn(phys_addr: int, size: int) -> IoMem | None:
        return current_kernel()._ioremap(name, phys_addr, size)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{name}(phys_addr, size)``: an __iomem cookie, or None (NULL)."
    return fn


ioremap = _variant("ioremap")
ioremap_np = _variant("ioremap_np")
ioremap_uc = _variant("ioremap_uc")
ioremap_wc = _variant("ioremap_wc")
ioremap_wt = _variant("ioremap_wt")
ioremap_cache = _variant("ioremap_cache")


def iounmap(addr: IoMem | None) -> None:
    current_kernel().iounmap(addr)


def ioport_map(port: int, nr: int) -> IoMem | None:
    return current_kernel().ioport_map(port, nr)


def ioport_unmap(addr: IoMem) -> None:
    current_kernel().ioport_unmap(addr)


def udelay(us: int) -> None:
    current_kernel().udelay(us)


def ndelay(ns: int) -> None:
    current_kernel().ndelay(ns)


def mdelay(ms: int) -> None:
    current_kernel().msleep(ms)


def msleep(ms: int) -> None:
    current_kernel().msleep(ms)


def printk(text: str, level: int = KERN_INFO) -> None:
    current_kernel().printk(level, text.rstrip("\n"))


def _pr(level: int):
    def fn(fmt: str, *args: object) -> None:
        current_kernel().printk(level, (fmt % args if args else fmt).rstrip("\n"))
    return fn


pr_err = _pr(KERN_ERR)
pr_warn = _pr(KERN_WARNING)
pr_notice = _pr(KERN_NOTICE)
pr_info = _pr(KERN_INFO)
pr_debug = _pr(KERN_DEBUG)


def __getattr__(name: str):
    if name in ("iomem_resource", "ioport_resource"):
        return getattr(current_kernel(), name)
    raise AttributeError(name)
