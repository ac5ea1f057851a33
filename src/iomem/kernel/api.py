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
from .vsprintf import kvsprintf


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
    current_kernel().mdelay(ms)


def msleep(ms: int) -> None:
    current_kernel().msleep(ms)


def printk(text: str, level: int = KERN_INFO) -> None:
    current_kernel().printk(level, text.rstrip("\n"))


def _pr(level: int):
    def fn(fmt: str, *args: object) -> None:
        current_kernel().printk(level, (kvsprintf(fmt, args)).rstrip("\n"))
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


# -- x86 port I/O (arch/x86/include/asm/io.h): inb/outb and friends --------------------

def _port(size: int, is_write: bool):
    suffix = {1: "b", 2: "w", 4: "l"}[size]
    if is_write:
        def out(value: int, port: int) -> None:
            k = current_kernel()
            _x86_only(k, f"out{suffix}")
            _check_port(f"out{suffix}", port, size)
            if not 0 <= value < 1 << (8 * size):
                raise ValueError(f"out{suffix}: value {value:#x} does not fit in {8 * size} bits")
            k.machine.clock.tick(k.machine.access_ns)
            k.machine.io.write(port, size, value)
        out.__name__ = out.__qualname__ = f"out{suffix}"
        out.__doc__ = f"``out{suffix}(value, port)``: one {8 * size}-bit port write (x86)."
        return out

    def inp(port: int) -> int:
        k = current_kernel()
        _x86_only(k, f"in{suffix}")
        _check_port(f"in{suffix}", port, size)
        k.machine.clock.tick(k.machine.access_ns)
        return k.machine.io.read(port, size)
    inp.__name__ = inp.__qualname__ = f"in{suffix}"
    inp.__doc__ = f"``in{suffix}(port)``: one {8 * size}-bit port read (x86)."
    return inp


def _x86_only(k, fn: str) -> None:
    if not k.arch.is_x86:
        raise NotImplementedError(
            f"{fn}(): {k.arch.name} has no port I/O instructions; its PCI I/O space is "
            "memory-mapped (use ioport_map()/pci_iomap() and ioread*/iowrite*)")


def _check_port(fn: str, port: int, size: int) -> None:
    if not isinstance(port, int) or not 0 <= port <= 0xFFFF - (size - 1):
        raise ValueError(f"{fn}: port {port!r} is outside the 16-bit I/O space")


inb, inw, inl = _port(1, False), _port(2, False), _port(4, False)
outb, outw, outl = _port(1, True), _port(2, True), _port(4, True)
