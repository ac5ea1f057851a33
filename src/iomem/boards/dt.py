"""A board from a device tree: any DTB or DTS becomes a simulated machine and a boot.

The hardware (:func:`build_machine`): RAM for each ``/memory`` bank, and for
every enabled node with a translatable ``reg`` a register region per entry,
answered by the device model the node's ``compatible`` selects from the
model registry (:func:`iomem.devices.model_from_dt`) or, with no model, by
an :class:`~iomem.devices.Unmodelled` region that reads 0 (or a configured
value) and records every access, so a driver author sees what was touched.
Interrupt outputs of the models are wired to the root interrupt
controller's inputs (machine line = GIC INTID).  Deeper nodes win where
regions overlap.

The boot (:func:`dt_populate`), in the order Linux 6.1 does it: the tree
becomes the kernel's (``unflatten_device_tree``); RAM and reserved memory
go into the resource tree (``request_standard_resources``: ``System RAM``,
``no-map`` regions as top-level ``reserved``, other reservations as
``reserved`` inside RAM); interrupt controllers, clocks and timers are
initialised (``*_OF_DECLARE``); then the initcalls run level by level with
the populate at ``arch_initcall_sync``; devices still waiting say "deferred
probe pending"; finally the console is opened, as ``console_on_rootfs`` does.

:func:`load_board` is what ``--board FILE.dtb|FILE.dts`` uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..devices import Unmodelled, model_from_dt
from ..devices.base import MmioDevice
from ..kernel import ioport as F
from ..kernel.kernel import Kernel
from ..kernel.resource import Resource, insert_resource_conflict
from ..machine import Machine
from ..of import (
    DeviceNode,
    DeviceTree,
    MemoryRange,
    ReservedMemory,
    load,
    of_irqs,
    of_memory_ranges,
    of_reserved_memory,
    of_resources,
)
from ..of.address import of_read_number
from ..of.irq import of_irq_find_parent
from ..phys import ABORT
from . import Board

#: model factory for a node: (node, size of its first reg entry) -> model, or None
ModelFactory = Callable[[DeviceNode, int], "MmioDevice | None"]

SZ_1M = 1 << 20
SZ_4K = 1 << 12
CMA_ALIGN = 4 << 20  # pageblock order on arm64 4K pages


@dataclass
class DtBoard(Board):
    """A :class:`Board` made from a tree, with what it made of each node."""

    tree: DeviceTree | None = None
    #: node path -> the model answering its first reg entry (modelled or not)
    models: dict[str, MmioDevice] = field(default_factory=dict)
    #: node path -> every region model of the node (one per reg entry)
    regions: dict[str, list[MmioDevice]] = field(default_factory=dict)
    #: register the built-in drivers at boot (False: only what the user loads)
    builtin_drivers: bool = True
    #: open the console at the end of boot, as init does
    open_console: bool = True
    #: notes about nodes the machine could not place (overlaps, odd sizes)
    notes: list[str] = field(default_factory=list)

    def model_of(self, path_or_name: str) -> MmioDevice | None:
        """The model of a node, by path (``/pl011@9000000``) or full name."""
        if path_or_name in self.models:
            return self.models[path_or_name]
        return next((m for p, m in self.models.items()
                     if p.rsplit("/", 1)[-1] == path_or_name), None)

    def unmodelled(self) -> dict[str, Unmodelled]:
        """Nodes answered by a logging stand-in, by path."""
        return {p: m for p, m in self.models.items() if isinstance(m, Unmodelled)}


# -- the hardware ---------------------------------------------------------------------------

def root_interrupt_controllers(tree: DeviceTree) -> set[DeviceNode]:
    """Controllers with no parent of their own: their inputs are the machine's lines."""
    out = set()
    for n in tree.nodes():
        if n.has_property("interrupt-controller") and n.is_available():
            parent = of_irq_find_parent(tree, n)
            if parent is None or parent is n:
                out.add(n)
    return out


def _skipped(tree: DeviceTree, node: DeviceNode) -> bool:
    if node is tree.root or not node.is_available():
        return True
    if node.device_type == "memory" and node.parent is tree.root:
        return True
    parts = node.path.split("/")
    return len(parts) > 1 and parts[1] in ("reserved-memory", "cpus", "chosen", "aliases")


def default_region_name(node: DeviceNode, index: int) -> str:
    return node.name if index == 0 else f"{node.name}.{index}"


def build_machine(tree: DeviceTree, name: str, arch: str = "arm64", *,
                  factories: Mapping[str, ModelFactory] | None = None,
                  region_name: Callable[[DeviceNode, int], str] = default_region_name,
                  ram_name: str | None = None, read_value: int = 0,
                  board: DtBoard | None = None) -> Machine:
    """The machine a tree describes (see the module docstring)."""
    m = Machine(name, arch=arch, bus_error_policy=ABORT)
    banks = of_memory_ranges(tree)
    labels = [ram_name or bank.node.full_name for bank in banks]
    for i, bank in enumerate(banks):
        label = labels[i] if labels.count(labels[i]) == 1 else f"{labels[i]}.{i}"
        m.add_ram(label, bank.base, bank.size)
    roots = root_interrupt_controllers(tree)
    factories = factories or {}
    for node in tree.nodes():
        if _skipped(tree, node):
            continue
        resources = [r for r in of_resources(node) if r.size > 0]
        if not resources:
            continue
        models: list[MmioDevice] = []
        for i, res in enumerate(resources):
            model: MmioDevice | None = None
            if i == 0:
                fac = factories.get(node.path) or next(
                    (factories[c] for c in node.compatible if c in factories), None)
                if fac is not None:
                    model = fac(node, res.size)
                if model is None:
                    try:
                        model = model_from_dt(node.compatible, node.properties,
                                              name=region_name(node, 0), size=res.size)
                    except (ValueError, TypeError) as e:
                        if board is not None:
                            board.notes.append(f"{node.path}: no model ({e}); unmodelled")
                        model = None
            if model is None:
                model = Unmodelled(res.size, region_name(node, i), read_value=read_value,
                                   compatible=tuple(node.compatible))
            if res.end > m.memory.limit:
                if board is not None:
                    board.notes.append(f"{node.path}: {res} is outside the address space")
                continue
            m.add_device(model, res.start, name=region_name(node, i),
                         priority=node.depth - 1)
            models.append(model)
        if not models:
            continue
        for i, irq in enumerate(of_irqs(tree, node)):
            if irq.controller in roots:
                models[0].connect_irq(i, m.irq(irq.hwirq))
        if board is not None:
            board.models[node.path] = models[0]
            board.regions[node.path] = models
    return m


# -- the boot ----------------------------------------------------------------------------------

def _alloc_reserved(banks: list[MemoryRange], taken: list[tuple[int, int]], rv: ReservedMemory
                    ) -> int | None:
    """Place a dynamic reserved region top-down in RAM (memblock's default direction)."""
    node = rv.node
    align = SZ_4K
    if node is not None:
        got = node.read_u32_array("alignment") if node.has_property("alignment") else None
        if got:
            align = max(of_read_number(got), 1)
        if rv.reusable and "shared-dma-pool" in rv.compatible:
            align = max(align, CMA_ALIGN)
    for bank in sorted(banks, key=lambda b: b.base, reverse=True):
        top = bank.end + 1
        while top - rv.size >= bank.base:
            start = (top - rv.size) & ~(align - 1)
            if start < bank.base:
                break
            clash = next(((s, e) for s, e in taken if s <= start + rv.size - 1 and start <= e),
                         None)
            if clash is None:
                return start
            top = clash[0]
    return None


def add_memory_resources(k: Kernel, tree: DeviceTree) -> None:
    """System RAM, ``no-map`` holes as top-level ``reserved``, other reservations as
    ``reserved`` inside RAM, and the reserved-memory pool messages."""
    banks = of_memory_ranges(tree)
    reserved = of_reserved_memory(tree)
    taken: list[tuple[int, int]] = [(r.base, r.end) for r in reserved
                                    if r.base is not None and r.end is not None]
    placed: list[ReservedMemory] = []
    for rv in reserved:
        if rv.base is None:
            base = _alloc_reserved(banks, taken, rv)
            if base is None:
                k.printk_err(f"OF: reserved mem: failed to allocate memory for node "
                             f"'{rv.name}': size {rv.size // SZ_1M} MiB")
                continue
            rv = rv._replace(base=base)
            taken.append((base, base + rv.size - 1))
        placed.append(rv)
    nomap = sorted((r for r in placed if r.no_map), key=lambda r: r.base or 0)
    for bank in banks:
        pieces: list[tuple[int, int, bool]] = []
        cur = bank.base
        for r in nomap:
            assert r.base is not None and r.end is not None
            if r.end < bank.base or r.base > bank.end:
                continue
            lo, hi = max(r.base, bank.base), min(r.end, bank.end)
            if lo > cur:
                pieces.append((cur, lo - 1, False))
            pieces.append((lo, hi, True))
            cur = hi + 1
        if cur <= bank.end:
            pieces.append((cur, bank.end, False))
        for start, end, hole in pieces:
            if hole:
                res = Resource(start, end, "reserved", F.IORESOURCE_MEM)
                insert_resource_conflict(k.iomem_resource, res)
            else:
                k.add_system_ram(start, end - start + 1)
    for rv in placed:
        assert rv.base is not None and rv.end is not None
        if not rv.no_map:
            for ram in k.iomem_resource.children:
                if ram.name == "System RAM" and ram.start <= rv.base and rv.end <= ram.end:
                    insert_resource_conflict(ram, Resource(rv.base, rv.end, "reserved",
                                                           F.IORESOURCE_MEM | F.IORESOURCE_BUSY))
        if "shared-dma-pool" in rv.compatible and rv.node is not None:
            kind = "CMA" if rv.reusable and not rv.no_map else "DMA"
            k.printk_info(f"Reserved memory: created {kind} memory pool at "
                          f"0x{rv.base:016x}, size {rv.size // SZ_1M} MiB")
            k.printk_info(f"OF: reserved mem: initialized node {rv.name}, compatible id "
                          "shared-dma-pool")


def do_initcalls(k: Kernel, tree: DeviceTree, builtin: bool = True,
                 extra: list[tuple[str, Callable[[], int]]] | None = None) -> None:
    """Run the built-in drivers' initcalls level by level; the tree is populated at
    arch_initcall_sync.  ``extra`` adds (level, init) pairs after the built-ins of
    their level."""
    from ..drivers import INITCALL_LEVELS, builtin_drivers
    from ..kernel.of import of_platform_default_populate

    drivers = builtin_drivers() if builtin else []
    extra = extra or []
    for level in INITCALL_LEVELS:
        if level == "arch_sync":
            of_platform_default_populate(k)
            continue
        calls = [d.init for d in drivers if d.level == level and d.kind != "timer"]
        calls += [fn for lvl, fn in extra if lvl == level]
        for fn in calls:
            with k.active():
                ret = fn()
            if ret:
                k.printk_err(f"initcall {getattr(fn, '__name__', 'init')} returned {ret}")


def dt_populate(k: Kernel, tree: DeviceTree, *, builtin_drivers: bool = True,
                open_console: bool = True) -> None:
    """Boot ``k`` on ``tree`` (the steps in the module docstring)."""
    from contextlib import nullcontext

    from ..kernel.clk import of_clk_init
    from ..kernel.of import of_irq_init, of_set_root, timer_probe

    # what the built-in drivers map and claim at boot is the kernel's, not the code
    # under test: a sanitizer watching this kernel neither judges nor tracks it
    quiet = k.sanitizer.quiet() if k.sanitizer is not None else nullcontext()
    with k.active(), quiet:
        if builtin_drivers:
            import iomem.drivers as drv

            drv.builtin_drivers()  # imports the drivers, whose *_OF_DECLAREs register
        of_set_root(k, tree)
        add_memory_resources(k, tree)
        if k.arch.name == "arm64":
            k.printk_info("NR_IRQS: 64, nr_irqs: 64, preallocated irqs: 0")
        of_irq_init(k)
        of_clk_init(tree, k)
        timer_probe(k)
        do_initcalls(k, tree, builtin_drivers)
        late_boot(k, open_console)


def late_boot(k: Kernel, open_console: bool = True) -> None:
    """``deferred_probe_initcall``: one more try for every deferred device, and the
    ones still waiting say so; then ``console_on_rootfs`` opens the console."""
    from ..kernel.device import dev_info

    core = k.devices
    with k.active():
        core._trigger_deferred()
        for dev in list(core.deferred):
            dev_info(dev, "deferred probe pending")
        if open_console:
            from ..drivers.serial_core import serial_state, uart_open

            for con in list(serial_state(k).consoles):
                uart_open(k, con.port.name)


def dt_board(tree: DeviceTree, name: str | None = None, *, arch: str = "arm64",
             factories: Mapping[str, ModelFactory] | None = None,
             region_name: Callable[[DeviceNode, int], str] = default_region_name,
             ram_name: str | None = None, read_value: int = 0, cmdline: str = "",
             builtin_drivers: bool = True,
             extra_populate: Callable[[Kernel], None] | None = None) -> DtBoard:
    """A bootable :class:`DtBoard` for ``tree``.

    ``factories`` maps a compatible to a model factory that wins over the
    registry (a board's own flavour of a device, e.g. QEMU's PL011 revision);
    ``read_value`` is what unmodelled regions read; ``extra_populate`` runs
    after the boot (a board's own firmware-like steps).
    """
    name = name or (tree.compatible[0] if tree.compatible else "dt")
    board = DtBoard(name, Machine(name), arch, lambda k: None, model=tree.model or "",
                    cmdline=cmdline, tree=tree, builtin_drivers=builtin_drivers)
    board.machine = build_machine(tree, name, arch, factories=factories,
                                  region_name=region_name, ram_name=ram_name,
                                  read_value=read_value, board=board)

    def populate(k: Kernel) -> None:
        dt_populate(k, tree, builtin_drivers=board.builtin_drivers,
                    open_console=board.open_console)
        if extra_populate is not None:
            extra_populate(k)

    board.populate = populate
    return board


# -- boards described in Python -----------------------------------------------------------

def _prop(value: Any) -> bytes:
    """A property value as the blob stores it: ints are 32-bit cells, strings are
    NUL-terminated, lists of either are concatenated, True is an empty property."""
    if value is True:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return value.to_bytes(4, "big")
    if isinstance(value, str):
        return value.encode() + b"\0"
    return b"".join(_prop(v) for v in value)


def _cells64(value: int) -> list[int]:
    return [value >> 32 & 0xFFFFFFFF, value & 0xFFFFFFFF]


class SocBoard:
    """A board described in Python, as a device tree the kernel then boots.

    The tree gets what every arm64 SoC has: RAM, a GICv2 (``gic`` address) as
    the interrupt parent, a fixed 24 MHz clock that PrimeCells use as
    ``apb_pclk``, and whatever :meth:`device` adds.  Devices are root nodes
    with two-cell addresses, named ``<name>@<address>``, so Linux names them
    ``<address>.<name>``; an "arm,primecell" compatible makes an AMBA device.
    ``model=`` places a particular model instance at the node (otherwise the
    registry picks one by compatible, or the region is unmodelled).

        soc = SocBoard("acme", model="Acme board")
        soc.device("serial", "arm,pl011", 0x09000000, 0x1000, irq=1, stdout=True)
        soc.device("widget", "acme,widget", 0x0A000000, 0x100, irq=5, model=Widget())
        k = iomem.boot(soc.board())
    """

    def __init__(self, name: str, *, model: str = "", arch: str = "arm64",
                 ram: tuple[int, int] = (0x40000000, 256 << 20), gic: int = 0x08000000,
                 clock_hz: int = 24_000_000, cmdline: str = "") -> None:
        self.name = name
        self.arch = arch
        self.cmdline = cmdline
        self.models: dict[str, ModelFactory] = {}
        root = DeviceNode("", None, {
            "#address-cells": _prop(2), "#size-cells": _prop(2),
            "compatible": _prop(f"iomem,{name}"), "model": _prop(model or name),
            "interrupt-parent": _prop(1)})
        self.root = root
        self.chosen = self._node("chosen", {})
        self._node(f"memory@{ram[0]:x}", {"device_type": _prop("memory"),
                                           "reg": _prop(_cells64(ram[0]) + _cells64(ram[1]))})
        self._node(f"intc@{gic:x}", {
            "compatible": _prop("arm,cortex-a15-gic"), "interrupt-controller": True,
            "#interrupt-cells": _prop(3), "phandle": _prop(1),
            "reg": _prop(_cells64(gic) + _cells64(0x10000)
                         + _cells64(gic + 0x10000) + _cells64(0x10000))})
        self._node("apb-pclk", {"compatible": _prop("fixed-clock"), "#clock-cells": _prop(0),
                                "clock-frequency": _prop(clock_hz), "phandle": _prop(2),
                                "clock-output-names": _prop("clk24mhz")})

    def _node(self, full_name: str, props: Mapping[str, Any]) -> DeviceNode:
        node = DeviceNode(full_name, self.root, {k: _prop(v) if not isinstance(v, bytes) else v
                                                 for k, v in props.items()})
        self.root.children.append(node)
        return node

    def device(self, name: str, compatible: str | list[str], base: int, size: int, *,
               irq: int | list[int] | None = None, model: MmioDevice | None = None,
               stdout: bool = False, status: str | None = None,
               **props: Any) -> DeviceNode:
        """Add a device node: ``irq`` is a GIC SPI number (or several), level-high;
        ``props`` are more properties (underscores become dashes)."""
        compat = [compatible] if isinstance(compatible, str) else list(compatible)
        if any(c in ("arm,pl011", "arm,pl031", "arm,pl061", "arm,sp804") for c in compat) \
                and "arm,primecell" not in compat:
            compat.append("arm,primecell")
        values: dict[str, Any] = {"compatible": compat,
                                  "reg": _cells64(base) + _cells64(size)}
        if irq is not None:
            spis = [irq] if isinstance(irq, int) else list(irq)
            values["interrupts"] = [c for spi in spis for c in (0, spi, 4)]
        if "arm,pl011" in compat:
            values["clocks"], values["clock-names"] = [2, 2], ["uartclk", "apb_pclk"]
        elif "arm,primecell" in compat:
            values["clocks"], values["clock-names"] = [2], ["apb_pclk"]
        if status is not None:
            values["status"] = status
        values.update({k.replace("_", "-"): v for k, v in props.items()})
        node = self._node(f"{name}@{base:x}", values)
        if model is not None:
            self.models[node.path] = lambda n, s, m=model: m
        if stdout:
            self.chosen.properties["stdout-path"] = _prop(node.path)
        return node

    def tree(self) -> DeviceTree:
        # /chosen last, as QEMU's tree has it
        self.root.children.remove(self.chosen)
        self.root.children.append(self.chosen)
        return DeviceTree(self.root, source=self.name)

    def board(self, **options: Any) -> DtBoard:
        """The bootable board (``dt_board`` options may be given)."""
        return dt_board(self.tree(), self.name, arch=self.arch, factories=self.models,
                        cmdline=self.cmdline, **options)


def board_for_tree(tree: DeviceTree, name: str, **options: Any) -> DtBoard:
    """:func:`dt_board`, with QEMU's own device flavours (IDs, region names) when the
    tree is one QEMU's virt machine made (``linux,dummy-virt``)."""
    if "linux,dummy-virt" in tree.compatible:
        from .virt import qemu_virt_options

        options = {**qemu_virt_options(), **options}
    return dt_board(tree, name, **options)


def load_board(path: str | os.PathLike[str], **options: Any) -> DtBoard:
    """A board from a DTB or DTS file (``--board FILE``): named after the file."""
    tree = load(os.fspath(path))
    base = os.path.basename(os.fspath(path))
    return board_for_tree(tree, base.rsplit(".", 1)[0], **options)


__all__ = ["DtBoard", "ModelFactory", "SocBoard", "add_memory_resources", "board_for_tree",
           "build_machine", "default_region_name", "do_initcalls", "dt_board", "dt_populate",
           "late_boot", "load_board", "root_interrupt_controllers"]
