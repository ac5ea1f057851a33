"""The device tree inside the simulated kernel: drivers/of/platform.c (devices from
nodes), drivers/of/address.c (``of_address_to_resource``, ``of_iomap``),
drivers/of/irq.c (``of_irq_get``, ``irq_of_parse_and_map``), drivers/of/base.c
(property readers, aliases, phandles) and the early ``*_OF_DECLARE`` tables
(drivers/irqchip/irqchip.c, drivers/clocksource/timer-probe.c).

The tree itself is parsed and walked by :mod:`iomem.of`; this module turns
what that walk decides into kernel objects: a :class:`platform_device` per
platform node (MEM resources named by ``reg-names`` or the node's full name,
not inserted into iomem: ``of_device_add`` only adds the device) and an
:class:`amba_device` per "arm,primecell" node (``amba_device_add`` inserts its
resource).  Devices are added in the kernel's creation order, so a driver
registered before the populate (``arch_initcall``) probes as its device appears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..of import AMBA, DeviceNode, DeviceTree, DtError, OfDevice, PopulateState
from ..of import of_address_to_resource as _of_resource
from ..of import of_irq_count as _of_irq_count
from ..of import of_platform_default_populate_init as _populate_init
from ..of import of_platform_populate as _populate
from . import ioport as F
from .errno import EBUSY, EINVAL, ENODATA, ENOMEM, EOVERFLOW, ErrPtr
from .io import IoMem
from .resource import Resource

if TYPE_CHECKING:
    from .device import Device
    from .irqdomain import irq_domain
    from .kernel import Kernel

__all__ = ["IRQCHIP_OF_TABLE", "TIMER_OF_TABLE", "IRQCHIP_DECLARE", "OfState", "TIMER_OF_DECLARE",
           "irq_of_parse_and_map", "of_address_to_resource", "of_alias_get_id",
           "of_count_phandle_with_args", "of_device_is_big_endian", "of_device_is_compatible",
           "of_find_compatible_node", "of_find_device_by_node", "of_find_node_by_path",
           "of_get_property", "of_io_request_and_map", "of_iomap", "of_irq_count",
           "of_irq_get", "of_irq_get_byname", "of_irq_init", "of_node_full_name",
           "of_parse_phandle", "of_parse_phandle_with_args", "of_platform_default_populate",
           "of_platform_populate", "of_property_match_string", "of_property_read_bool",
           "of_property_read_string", "of_property_read_u32", "of_property_read_u32_array",
           "of_root", "of_set_root", "timer_probe"]


@dataclass
class OfState:
    """What the kernel keeps about its tree: the tree, the populate flags and the
    devices made from nodes."""

    tree: DeviceTree
    populate: PopulateState = field(default_factory=PopulateState)
    devices: dict[int, Device] = field(default_factory=dict)  # id(node) -> device


def _kern(k: Kernel | None = None) -> Kernel:
    if k is not None:
        return k
    from .kernel import current_kernel

    return current_kernel()


def of_state(k: Kernel) -> OfState | None:
    return k.__dict__.get("_of_state")


def of_set_root(k: Kernel, tree: DeviceTree) -> OfState:
    """Boot ``k`` with ``tree`` (``unflatten_device_tree``): irqs now come only from
    the tree's controllers, so the irq core stops numbering machine lines itself."""
    from .irq import irq_core

    st = OfState(tree)
    k.__dict__["_of_state"] = st
    irq_core(k).auto_map = False
    return st


def of_root(k: Kernel | None = None) -> DeviceTree | None:
    """The tree the kernel booted with (``of_root``), or None on a board without one."""
    st = of_state(_kern(k))
    return st.tree if st is not None else None


# -- properties (drivers/of/base.c, drivers/of/property.c) ----------------------------------

def of_get_property(np: DeviceNode, name: str) -> bytes | None:
    return np.get_property(name)


def of_property_read_bool(np: DeviceNode, name: str) -> bool:
    return np.has_property(name)


def of_property_read_u32(np: DeviceNode, name: str) -> tuple[int, int]:
    """``(0, value)``, or ``(-EINVAL, 0)`` when absent, ``(-EOVERFLOW, 0)`` when short."""
    raw = np.get_property(name)
    if raw is None:
        return -EINVAL, 0
    if len(raw) < 4:
        return -EOVERFLOW if raw else -ENODATA, 0
    return 0, int.from_bytes(raw[:4], "big")


def of_property_read_u32_array(np: DeviceNode, name: str, n: int) -> tuple[int, list[int]]:
    raw = np.get_property(name)
    if raw is None:
        return -EINVAL, []
    if len(raw) < 4 * n:
        return -EOVERFLOW, []
    return 0, [int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in range(n)]


def of_property_read_string(np: DeviceNode, name: str) -> tuple[int, str | None]:
    value = np.read_string(name)
    return (0, value) if value is not None else (-EINVAL, None)


def of_property_match_string(np: DeviceNode, name: str, string: str) -> int:
    if not np.has_property(name):
        return -EINVAL
    i = np.match_string(name, string)
    return i if i >= 0 else -ENODATA


def of_device_is_compatible(np: DeviceNode, compat: str) -> int:
    """The match score (0: not compatible), as ``of_device_is_compatible``."""
    return np.compatible_score(compat)


def of_device_is_big_endian(np: DeviceNode) -> bool:
    """``big-endian``, or ``native-endian`` on a big-endian CPU (never here)."""
    return np.has_property("big-endian")


def of_node_full_name(np: DeviceNode | None) -> str:
    """``%pOF``: the node's path."""
    return np.path if np is not None else "<no-node>"


def _tree(k: Kernel | None = None) -> DeviceTree | None:
    return of_root(k)


def of_find_node_by_path(path: str, k: Kernel | None = None) -> DeviceNode | None:
    tree = _tree(k)
    return tree.find_node_by_path(path) if tree is not None else None


def of_find_compatible_node(from_: DeviceNode | None, type: str | None, compat: str,
                            k: Kernel | None = None) -> DeviceNode | None:
    """The next node after ``from_`` (in tree order) compatible with ``compat``."""
    tree = _tree(k)
    if tree is None:
        return None
    started = from_ is None
    for n in tree.nodes():
        if not started:
            started = n is from_
            continue
        if n.is_compatible(compat) and (type is None or n.device_type == type):
            return n
    return None


def of_parse_phandle_with_args(np: DeviceNode, list_name: str, cells_name: str, index: int,
                               k: Kernel | None = None) -> tuple[DeviceNode, list[int]] | None:
    """Entry ``index`` of a phandle list, or None (a malformed list reads as none)."""
    tree = _tree(k)
    if tree is None:
        return None
    try:
        return tree.parse_phandle_with_args(np, list_name, cells_name, index)
    except DtError:
        return None


def of_count_phandle_with_args(np: DeviceNode, list_name: str, cells_name: str,
                               k: Kernel | None = None) -> int:
    if not np.has_property(list_name):
        return -EINVAL
    n = 0
    while of_parse_phandle_with_args(np, list_name, cells_name, n, k) is not None:
        n += 1
    return n


def of_parse_phandle(np: DeviceNode, name: str, index: int,
                     k: Kernel | None = None) -> DeviceNode | None:
    tree = _tree(k)
    ph = np.read_u32(name, index)
    return tree.find_node_by_phandle(ph) if tree is not None and ph else None


def of_alias_get_id(np: DeviceNode, stem: str, k: Kernel | None = None) -> int:
    """The N of the ``<stem>N`` alias pointing at ``np``, or -ENODEV."""
    tree = _tree(k)
    if tree is None:
        return -19
    for alias, path in tree.aliases().items():
        if not alias.startswith(stem):
            continue
        num = alias[len(stem):]
        if num.isdigit() and tree.find_node_by_path(path) is np:
            return int(num)
    return -19


# -- addresses (drivers/of/address.c) -----------------------------------------------------

def of_address_to_resource(np: DeviceNode, index: int, r: Resource) -> int:
    """Fill ``r`` with resource ``index`` of ``np`` (translated, named by ``reg-names`` or
    the node's full name); 0, or -EINVAL with ``r`` untouched."""
    got = _of_resource(np, index)
    if got is None:
        return -EINVAL
    r.start, r.end, r.name = got.start, got.end, got.name
    r.flags = got.flags
    return 0


def of_resource(np: DeviceNode, index: int) -> Resource | None:
    """A new :class:`Resource` for ``reg`` entry ``index`` (None when it does not translate)."""
    r = Resource(0, 0, None, F.IORESOURCE_MEM)
    return r if of_address_to_resource(np, index, r) == 0 else None


def of_iomap(np: DeviceNode, index: int) -> IoMem | None:
    """``ioremap`` a ``reg`` entry without claiming it (no /proc/iomem line)."""
    r = of_resource(np, index)
    if r is None:
        return None
    return _kern().ioremap(r.start, r.end - r.start + 1)


def of_io_request_and_map(np: DeviceNode, index: int, name: str | None) -> IoMem | ErrPtr:
    """Claim (named ``name`` or the node's full name) and map; ERR_PTR on failure."""
    k = _kern()
    r = of_resource(np, index)
    if r is None:
        return ErrPtr(-EINVAL)
    size = r.end - r.start + 1
    if k.request_mem_region(r.start, size, name or np.full_name) is None:
        return ErrPtr(-EBUSY)
    mem = k.ioremap(r.start, size)
    if mem is None:
        k.release_mem_region(r.start, size)
        return ErrPtr(-ENOMEM)
    return mem


# -- interrupts (drivers/of/irq.c) ------------------------------------------------------------

def of_irq_get(np: DeviceNode, index: int) -> int:
    """The Linux irq of interrupt ``index``: >0, -EINVAL when there is none, -EPROBE_DEFER
    while its controller has no irq domain."""
    from .irqdomain import of_irq_get_node

    return of_irq_get_node(np, index, _kern())


def of_irq_get_byname(np: DeviceNode, name: str) -> int:
    index = np.match_string("interrupt-names", name)
    if index < 0:
        return -EINVAL
    return of_irq_get(np, index)


def irq_of_parse_and_map(np: DeviceNode, index: int) -> int:
    """Like :func:`of_irq_get` but 0 for every failure."""
    irq = of_irq_get(np, index)
    return irq if irq > 0 else 0


def of_irq_count(np: DeviceNode) -> int:
    tree = _tree()
    return _of_irq_count(tree, np) if tree is not None else 0


# -- early init tables: IRQCHIP_DECLARE, TIMER_OF_DECLARE -----------------------------------

OfInit = Callable[[DeviceNode, "DeviceNode | None"], int]
#: compatible -> init(node, parent): drivers/irqchip's IRQCHIP_DECLARE entries
IRQCHIP_OF_TABLE: dict[str, OfInit] = {}
#: compatible -> init(node): TIMER_OF_DECLARE entries
TIMER_OF_TABLE: dict[str, Callable[[DeviceNode], int]] = {}


def IRQCHIP_DECLARE(name: str, compat: str, fn: OfInit) -> OfInit:  # noqa: N802
    IRQCHIP_OF_TABLE[compat] = fn
    return fn


def TIMER_OF_DECLARE(name: str, compat: str, fn: Callable[[DeviceNode], int]  # noqa: N802
                     ) -> Callable[[DeviceNode], int]:
    TIMER_OF_TABLE[compat] = fn
    return fn


def of_irq_init(k: Kernel | None = None) -> None:
    """``of_irq_init(__irqchip_of_table)``: initialise the interrupt controllers, parents
    before children (a controller whose parent has no domain yet waits its turn)."""
    from .irqdomain import irq_find_host

    kk = _kern(k)
    tree = _tree(kk)
    if tree is None:
        return
    pending = []
    for np in tree.nodes():
        if not np.is_available() or not np.has_property("interrupt-controller"):
            continue
        init = next((IRQCHIP_OF_TABLE[c] for c in np.compatible if c in IRQCHIP_OF_TABLE), None)
        if init is not None:
            pending.append((np, init))
    progress = True
    while pending and progress:
        progress = False
        for item in list(pending):
            np, init = item
            from ..of.irq import of_irq_find_parent

            parent = of_irq_find_parent(tree, np)
            if parent is np:
                parent = None
            if parent is not None and irq_find_host(parent, kk) is None:
                continue
            with kk.active():
                ret = init(np, parent)
            pending.remove(item)
            progress = True
            if ret:
                kk.printk_err(f"OF: of_irq_init: Failed to init {np.path} "
                              f"({np.path}), parent {parent.path if parent else '00000000'}")


def timer_probe(k: Kernel | None = None) -> None:
    """``timer_probe``: run the TIMER_OF_DECLARE entry of every available timer node."""
    kk = _kern(k)
    tree = _tree(kk)
    if tree is None:
        return
    for np in tree.nodes():
        if not np.is_available():
            continue
        init = next((TIMER_OF_TABLE[c] for c in np.compatible if c in TIMER_OF_TABLE), None)
        if init is None:
            continue
        with kk.active():
            ret = init(np)
        if ret:
            kk.printk_err(f"Failed to initialize '{np.path}': {ret}")


# the GIC (drivers/irqchip/irq-gic.c, irq-gic-v3.c): the root controller of arm boards

_GIC_V2 = ("arm,gic-400", "arm,arm11mp-gic", "arm,arm1176jzf-devchip-gic",
           "arm,cortex-a15-gic", "arm,cortex-a9-gic", "arm,cortex-a7-gic",
           "qcom,msm-8660-qgic", "qcom,msm-qgic2", "arm,pl390")


def _gic_init(np: DeviceNode, parent: DeviceNode | None, v3: bool = False) -> int:
    """A GIC domain whose hwirqs (INTIDs) are the machine's interrupt lines; the first
    GIC (the root) takes Linux irqs 1-8 for its SGIs, as ``gic_smp_init`` does."""
    from .irqdomain import GIC_NR_SGIS_ALLOCATED, irq_domain, irq_domains

    k = _kern()
    doms = irq_domains(k)
    n = sum(1 for d in doms.domains if d.chip.startswith("GIC"))
    chip = "GICv3" if v3 else f"GIC-{n}"
    machine = k.machine
    d = irq_domain(np.full_name, np, chip, machine.irq, hierarchy=True)
    doms.add(d)
    if parent is None and n == 0:
        k.printk_info("Root IRQ handler: gic_handle_irq")
        doms.alloc_descs(GIC_NR_SGIS_ALLOCATED, 1)
    return 0


def _gic_v3_init(np: DeviceNode, parent: DeviceNode | None) -> int:
    return _gic_init(np, parent, v3=True)


for _c in _GIC_V2:
    IRQCHIP_DECLARE("gic", _c, _gic_init)
IRQCHIP_DECLARE("gic_v3", "arm,gic-v3", _gic_v3_init)


def _generic_root_irqchip_init(np: DeviceNode, parent: DeviceNode | None) -> int:
    """A root controller the kernel has no model of (a RISC-V PLIC, an x86 board's
    IO-APIC described in a tree): its hwirqs are the machine's lines."""
    from .irqdomain import irq_domain, irq_domains

    k = _kern()
    irq_domains(k).add(irq_domain(np.full_name, np, np.name, k.machine.irq, hierarchy=True))
    return 0


for _c in ("riscv,plic0", "sifive,plic-1.0.0", "andestech,nceplic100", "intel,ioapic",
           "arm,nvic", "arm,v7m-nvic"):
    IRQCHIP_DECLARE("plic", _c, _generic_root_irqchip_init)


#: CNTFRQ of QEMU's emulated CPUs before QEMU 9.0, when the tree does not say
ARCH_TIMER_DEFAULT_RATE = 62_500_000
ARCH_TIMER_VIRT_PPI = 2


def _arch_timer_handler(irq: int, dev_id: Any) -> int:
    from .irq import IRQ_HANDLED

    return IRQ_HANDLED


def _arch_timer_of_init(np: DeviceNode) -> int:
    """``arch_timer_of_init``: map all four timer PPIs (secure, non-secure, virtual,
    hypervisor), in that order; a kernel at EL1 uses the virtual timer and
    registers the 57-bit system counter as clocksource and sched_clock."""
    from ..drivers.clocksource import (
        CLOCKSOURCE_MASK,
        clocksource,
        clocksource_register_hz,
        sched_clock_register,
    )
    from .irq import IRQF_TIMER, request_irq

    k = _kern()
    ppis = [irq_of_parse_and_map(np, i) for i in range(4)]
    ret, rate = of_property_read_u32(np, "clock-frequency")
    if ret:
        rate = ARCH_TIMER_DEFAULT_RATE
    k.printk_info(f"arch_timer: cp15 timer(s) running at {rate // 1000000}."
                  f"{rate // 10000 % 100:02d}MHz (virt).")
    clock = k.machine.clock

    def read() -> int:
        return clock.now * rate // 1_000_000_000

    clocksource_register_hz(k, clocksource("arch_sys_counter", CLOCKSOURCE_MASK(57), read,
                                           400), rate)
    sched_clock_register(k, read, 57, rate)
    if ppis[ARCH_TIMER_VIRT_PPI] > 0:
        request_irq(ppis[ARCH_TIMER_VIRT_PPI], _arch_timer_handler, IRQF_TIMER, "arch_timer",
                    np)
    return 0


TIMER_OF_DECLARE("armv7_arch_timer", "arm,armv7-timer", _arch_timer_of_init)
TIMER_OF_DECLARE("armv8_arch_timer", "arm,armv8-timer", _arch_timer_of_init)


# -- devices from nodes (drivers/of/platform.c) -----------------------------------------------

def of_find_device_by_node(np: DeviceNode, k: Kernel | None = None) -> Device | None:
    st = of_state(_kern(k))
    return st.devices.get(id(np)) if st is not None else None


def _create(k: Kernel, st: OfState, od: OfDevice, made: dict[int, Device]) -> Device | None:
    from .amba import amba_device, amba_device_add
    from .platform import platform_device, platform_device_register

    parent = made.get(id(od.parent)) if od.parent is not None else None
    if od.bus == AMBA:
        res = Resource(od.resources[0].start, od.resources[0].end, od.resources[0].name,
                       od.resources[0].flags)
        adev = amba_device(od.name, res, of_node=od.node, parent=parent)
        pid = od.node.read_u32("arm,primecell-periphid")
        if pid is not None:
            adev.periphid = pid
        ret = amba_device_add(adev, k.iomem_resource)
        if ret:
            k.printk_err(f"amba_device_add() failed ({ret}) for {od.node.path}")
            return None
        dev: Device = adev
    else:
        resources = [Resource(r.start, r.end, r.name, r.flags) for r in od.resources]
        pdev = platform_device("", resources=resources, of_node=od.node, dev_name=od.name,
                               parent=parent)
        if platform_device_register(pdev, insert_resources=False):
            return None
        dev = pdev
    st.devices[id(od.node)] = dev
    return dev


def _add_all(k: Kernel, st: OfState, made_of: list[OfDevice]) -> list[Device]:
    made: dict[int, Device] = {}
    out: list[Device] = []
    with k.active():
        for od in made_of:
            dev = _create(k, st, od, made)
            if dev is not None:
                made[id(od)] = dev
                out.append(dev)
    return out


def of_platform_default_populate(k: Kernel | None = None) -> list[Device]:
    """``of_platform_default_populate_init`` (arch_initcall_sync): the kernel devices of
    the whole tree, in creation order."""
    kk = _kern(k)
    st = of_state(kk)
    if st is None:
        return []
    return _add_all(kk, st, _populate_init(st.tree, state=st.populate))


def of_platform_populate(root: DeviceNode | None, matches: Any = None,
                         parent: Device | None = None, k: Kernel | None = None) -> list[Device]:
    """Devices for ``root``'s children (a driver populating its own bus, as simple-mfd
    and syscon parents do); nodes already populated are skipped."""
    kk = _kern(k)
    st = of_state(kk)
    if st is None:
        return []
    from ..of import OF_DEFAULT_BUS_MATCH_TABLE

    made = _populate(st.tree, root, matches if matches is not None else
                     OF_DEFAULT_BUS_MATCH_TABLE, None, st.populate)
    devs = _add_all(kk, st, made)
    if parent is not None:
        for d in devs:
            if d.parent is None:
                d.parent = parent
    return devs


def irq_domain_of(np: DeviceNode, k: Kernel | None = None) -> irq_domain | None:
    from .irqdomain import irq_find_host

    return irq_find_host(np, k)
