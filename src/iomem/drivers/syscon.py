"""System controllers: drivers/mfd/syscon.c of Linux 6.1 over a small
drivers/base/regmap/regmap-mmio.c.

A "syscon" node is a block of registers several drivers share.  Nobody binds
to it: the first user calls :func:`syscon_node_to_regmap` (or
:func:`syscon_regmap_lookup_by_phandle`), which maps the node with
``of_iomap`` (no /proc/iomem claim, so the block never shows there) and
wraps it in a regmap named ``<node name>@<address>`` with the node's
endianness and ``reg-io-width`` (4 by default).  The ``syscon`` platform
driver itself only matches devices *named* "syscon" (board files), as in
Linux.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kernel import ioread32be, iowrite32be, readb, readl, readw, writeb, writel, writew
from ..kernel.device import dev_dbg
from ..kernel.devres import devm_ioremap
from ..kernel.errno import EINVAL, ENODEV, ENOMEM, ErrPtr
from ..kernel.ioport import IORESOURCE_MEM
from ..kernel.kernel import Kernel, current_kernel
from ..kernel.of import (
    of_address_to_resource,
    of_iomap,
    of_parse_phandle,
    of_property_read_bool,
    of_property_read_u32,
)
from ..kernel.platform import (
    platform_device,
    platform_driver,
    platform_driver_register,
    platform_get_resource,
)
from ..kernel.resource import Resource, resource_size

DRV_NAME = "syscon"


@dataclass(eq=False)
class regmap:  # noqa: N801 - the kernel's name
    """An MMIO regmap: registers of ``val_bits`` every ``reg_stride`` bytes."""

    name: str
    base: Any
    reg_stride: int = 4
    val_bits: int = 32
    max_register: int = 0
    big_endian: bool = False

    def _check(self, reg: int) -> int:
        if reg % self.reg_stride or (self.max_register and reg > self.max_register):
            return -EINVAL
        return 0

    def _read(self, reg: int) -> int:
        addr = self.base + reg
        if self.val_bits == 8:
            return readb(addr)
        if self.val_bits == 16:
            return readw(addr)
        return ioread32be(addr) if self.big_endian else readl(addr)

    def _write(self, reg: int, val: int) -> None:
        addr = self.base + reg
        if self.val_bits == 8:
            writeb(val & 0xFF, addr)
        elif self.val_bits == 16:
            writew(val & 0xFFFF, addr)
        elif self.big_endian:
            iowrite32be(val & 0xFFFFFFFF, addr)
        else:
            writel(val & 0xFFFFFFFF, addr)

    def __repr__(self) -> str:
        return f"<regmap {self.name}>"


def regmap_read(map: regmap, reg: int) -> tuple[int, int]:
    """``(0, value)`` or ``(-EINVAL, 0)`` for a register the map does not have."""
    err = map._check(reg)
    return (err, 0) if err else (0, map._read(reg))


def regmap_write(map: regmap, reg: int, val: int) -> int:
    err = map._check(reg)
    if not err:
        map._write(reg, val)
    return err


def regmap_update_bits(map: regmap, reg: int, mask: int, val: int) -> int:
    """Read-modify-write; the write is skipped when nothing changes."""
    err, orig = regmap_read(map, reg)
    if err:
        return err
    new = (orig & ~mask) | (val & mask)
    if new != orig:
        map._write(reg, new)
    return 0


def regmap_set_bits(map: regmap, reg: int, bits: int) -> int:
    return regmap_update_bits(map, reg, bits, bits)


def regmap_clear_bits(map: regmap, reg: int, bits: int) -> int:
    return regmap_update_bits(map, reg, bits, 0)


def regmap_init_mmio(dev: Any, base: Any, name: str, reg_stride: int = 4, val_bits: int = 32,
                     max_register: int = 0, big_endian: bool = False) -> regmap:
    return regmap(name, base, reg_stride, val_bits, max_register, big_endian)


def _syscons(k: Kernel) -> dict[int, regmap]:
    got = k.__dict__.get("_syscons")
    if got is None:
        got = k.__dict__["_syscons"] = {}
    return got


def of_syscon_register(np: Any) -> regmap | ErrPtr:
    res = Resource()
    if of_address_to_resource(np, 0, res):
        return ErrPtr(-ENOMEM)
    base = of_iomap(np, 0)
    if base is None:
        return ErrPtr(-ENOMEM)
    ret, width = of_property_read_u32(np, "reg-io-width")
    if ret:
        width = 4
    if width not in (1, 2, 4):
        current_kernel().iounmap(base)
        return ErrPtr(-EINVAL)
    name = f"{np.name}@0x{res.start:016x}"  # "%pOFn@%pa"
    return regmap_init_mmio(None, base, name, width, width * 8, resource_size(res) - width,
                            of_property_read_bool(np, "big-endian"))


def device_node_get_regmap(np: Any, check_clk: bool = True) -> regmap | ErrPtr:
    k = current_kernel()
    cache = _syscons(k)
    got = cache.get(id(np))
    if got is None:
        made = of_syscon_register(np)
        if isinstance(made, ErrPtr):
            return made
        cache[id(np)] = got = made
    return got


def syscon_node_to_regmap(np: Any) -> regmap | ErrPtr:
    """The shared regmap of a node compatible with "syscon" (-EINVAL otherwise)."""
    if not np.is_compatible("syscon"):
        return ErrPtr(-EINVAL)
    return device_node_get_regmap(np)


def device_node_to_regmap(np: Any) -> regmap | ErrPtr:
    """The regmap of any register block node, syscon or not."""
    return device_node_get_regmap(np, False)


def syscon_regmap_lookup_by_compatible(compat: str) -> regmap | ErrPtr:
    from ..kernel.of import of_find_compatible_node

    np = of_find_compatible_node(None, None, compat)
    if np is None:
        return ErrPtr(-ENODEV)
    return syscon_node_to_regmap(np)


def syscon_regmap_lookup_by_phandle(np: Any, prop: str | None) -> regmap | ErrPtr:
    """The syscon ``np``'s property ``prop`` points at (``np`` itself for None)."""
    target = of_parse_phandle(np, prop, 0) if prop else np
    if target is None:
        return ErrPtr(-ENODEV)
    return syscon_node_to_regmap(target)


def syscon_probe(pdev: platform_device) -> int:
    """The board-file syscon: a platform device named "syscon" with a MEM resource."""
    res = platform_get_resource(pdev, IORESOURCE_MEM, 0)
    if res is None:
        return -ENODEV
    base = devm_ioremap(pdev, res.start, resource_size(res))
    if base is None:
        return -ENOMEM
    pdev.driver_data = regmap_init_mmio(pdev, base, pdev.name, 4, 32, resource_size(res) - 4)
    dev_dbg(pdev, f"regmap {res} registered")
    return 0


def syscon_driver() -> platform_driver:
    """A fresh ``struct platform_driver``: matches by name only (``syscon_ids``)."""
    return platform_driver(DRV_NAME, syscon_probe, id_table=["syscon"])


def syscon_init() -> int:
    """``postcore_initcall(syscon_init)``."""
    return platform_driver_register(syscon_driver())
