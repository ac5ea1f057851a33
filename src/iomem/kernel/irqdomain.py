"""Interrupt domains: a controller's hwirq -> a Linux irq number (kernel/irq/irqdomain.c,
kernel/irq/irqdesc.c, drivers/of/irq.c ``of_irq_get``/``irq_of_parse_and_map``).

Linux numbers its irqs at run time: each mapping takes the lowest free
number, so the number a driver sees depends on what was mapped before it.
On QEMU's arm64 ``virt`` machine the GIC driver first takes 1-8 for its
SGIs (``gic_smp_init``), the architected timer maps its four PPIs (9-12),
and then each device's interrupts are mapped when its driver probes (the
PL011's SPI 1, INTID 33, becomes ``irq = 13``).  This module keeps that
numbering: hierarchical domains (the GIC and most modern controllers)
allocate from 1 (``__irq_domain_alloc_irqs`` passes hwirq 0 as the hint);
simple linear domains (gpiolib's) start the search at ``hwirq % nr_irqs``
(``irq_domain_alloc_descs``).

Each mapping becomes a descriptor of the irq core (:mod:`.irq`): the root
controller's inputs are the machine's interrupt lines numbered by hwirq (a
GIC INTID), so a device model wired to ``machine.irq(33)`` raises Linux
irq 13 once the PL011 driver has mapped it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..machine import IrqLine
from .errno import EINVAL, EPROBE_DEFER

if TYPE_CHECKING:
    from ..of import DeviceNode, OfIrq
    from .kernel import Kernel

#: include/dt-bindings/interrupt-controller/irq.h trigger types
IRQ_TYPE_NONE = 0
IRQ_TYPE_EDGE_RISING = 1
IRQ_TYPE_EDGE_FALLING = 2
IRQ_TYPE_EDGE_BOTH = 3
IRQ_TYPE_LEVEL_HIGH = 4
IRQ_TYPE_LEVEL_LOW = 8
IRQ_TYPE_LEVEL_MASK = IRQ_TYPE_LEVEL_HIGH | IRQ_TYPE_LEVEL_LOW

#: arm64's NR_IRQS: the descriptor bitmap starts this big and grows on demand
NR_IRQS = 64
#: what the GIC drivers allocate up front for their software-generated interrupts
GIC_NR_SGIS_ALLOCATED = 8


@dataclass(eq=False)
class irq_domain:  # noqa: N801 - the kernel's name
    """``struct irq_domain``: one controller's hwirq space and its mappings.

    ``line(hwirq)`` gives the input the controller sees (a machine
    :class:`~iomem.machine.IrqLine`); ``chip`` is the name /proc/interrupts
    prints; ``hierarchy`` picks the allocation rule described above.
    """

    name: str
    fwnode: Any
    chip: str
    line: Callable[[int], IrqLine]
    hierarchy: bool = True
    size: int = 0  # linear domains: hwirqs 0..size-1 (0: unbounded)
    host_data: Any = None
    revmap: dict[int, int] = field(default_factory=dict)  # hwirq -> virq

    def __repr__(self) -> str:
        return f"<irq_domain {self.name} ({len(self.revmap)} mapped)>"


class IrqDomains:
    """The irq domains of one kernel and the Linux irq number allocator."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.domains: list[irq_domain] = []
        self.allocated: set[int] = {0}  # irq 0 is never handed out
        self.nr_irqs = NR_IRQS
        self.reverse: dict[int, tuple[irq_domain, int]] = {}  # virq -> (domain, hwirq)

    # -- descriptor numbers (kernel/irq/irqdesc.c) --------------------------------------

    def alloc_descs(self, cnt: int, hint: int) -> int:
        """``__irq_alloc_descs(-1, hint, cnt)``: the first free run of ``cnt`` at or
        after ``hint``; the bitmap grows past nr_irqs when it must."""
        start = max(hint, 1)
        while any(start + i in self.allocated for i in range(cnt)):
            start += 1
        for i in range(cnt):
            self.allocated.add(start + i)
        self.nr_irqs = max(self.nr_irqs, start + cnt)
        return start

    def free_descs(self, virq: int, cnt: int = 1) -> None:
        for i in range(cnt):
            self.allocated.discard(virq + i)

    # -- domains -------------------------------------------------------------------------

    def add(self, domain: irq_domain) -> irq_domain:
        self.domains.append(domain)
        return domain

    def remove(self, domain: irq_domain) -> None:
        for hwirq in list(domain.revmap):
            self.dispose_mapping(domain.revmap[hwirq])
        if domain in self.domains:
            self.domains.remove(domain)

    def find_host(self, node: Any) -> irq_domain | None:
        """``irq_find_host``: the domain registered for a controller node."""
        return next((d for d in self.domains if d.fwnode is node), None)

    # -- mappings -------------------------------------------------------------------------

    def create_mapping(self, domain: irq_domain, hwirq: int,
                       type: int = IRQ_TYPE_NONE) -> int:
        """``irq_create_fwspec_mapping``: the existing mapping, or a new Linux irq; 0
        when the domain refuses the hwirq."""
        virq = domain.revmap.get(hwirq)
        if virq is not None:
            if type != IRQ_TYPE_NONE:
                self._set_type(virq, type)
            return virq
        if domain.size and not 0 <= hwirq < domain.size:
            self.k.printk_err(f"error: hwirq 0x{hwirq:x} is too large for {domain.name}")
            return 0
        hint = 1 if domain.hierarchy else (hwirq % self.nr_irqs or 1)
        virq = self.alloc_descs(1, hint)
        domain.revmap[hwirq] = virq
        self.reverse[virq] = (domain, hwirq)
        from .irq import irq_core

        flow = "edge" if type & ~IRQ_TYPE_LEVEL_MASK and not type & IRQ_TYPE_LEVEL_MASK \
            else "fasteoi"
        desc = irq_core(self.k).setup_irq_line(virq, domain.line(hwirq), chip=domain.chip,
                                               hwirq=hwirq, flow=flow)
        desc.trigger = type  # type: ignore[attr-defined]
        return virq

    def _set_type(self, virq: int, type: int) -> None:
        from .irq import irq_core

        desc = irq_core(self.k).descs.get(virq)
        if desc is not None:
            desc.trigger = type  # type: ignore[attr-defined]
            if not desc.actions:
                desc.flow = "fasteoi" if type & IRQ_TYPE_LEVEL_MASK else "edge"

    def dispose_mapping(self, virq: int) -> None:
        """``irq_dispose_mapping``: forget the mapping and free the number."""
        got = self.reverse.pop(virq, None)
        if got is None:
            return
        domain, hwirq = got
        domain.revmap.pop(hwirq, None)
        from .irq import irq_core

        core = irq_core(self.k)
        desc = core.descs.pop(virq, None)
        if desc is not None and desc.line is not None:
            desc.line.disconnect(core._listener(desc))
        self.free_descs(virq)

    def find_mapping(self, domain: irq_domain, hwirq: int) -> int:
        """``irq_find_mapping``: the Linux irq of ``hwirq``, or 0."""
        return domain.revmap.get(hwirq, 0)

    def hwirq_of(self, virq: int) -> tuple[irq_domain, int] | None:
        return self.reverse.get(virq)


def irq_domains(k: Kernel) -> IrqDomains:
    """The irq domains of kernel ``k`` (made on first use)."""
    got = k.__dict__.get("_irqdomains")
    if got is None:
        got = k.__dict__["_irqdomains"] = IrqDomains(k)
    return got


def _kern(k: Kernel | None) -> Kernel:
    if k is not None:
        return k
    from .kernel import current_kernel

    return current_kernel()


# -- the kernel's functions by their C names --------------------------------------------

def irq_domain_add_linear(of_node: Any, size: int, chip: str, host_data: Any = None, *,
                          line: Callable[[int], IrqLine] | None = None,
                          hierarchy: bool = False, k: Kernel | None = None) -> irq_domain:
    """A linear domain for ``size`` hwirqs of a controller node.  Without ``line``,
    each hwirq gets an input of its own that the controller's driver drives
    (``generic_handle_domain_irq``)."""
    name = getattr(of_node, "full_name", None) or chip
    lines: dict[int, IrqLine] = {}

    def own_line(hwirq: int) -> IrqLine:
        got = lines.get(hwirq)
        if got is None:
            got = lines[hwirq] = IrqLine(hwirq, f"{name}:{hwirq}")
        return got

    d = irq_domain(name, of_node, chip, line or own_line, hierarchy, size, host_data)
    d.lines = lines  # type: ignore[attr-defined]
    return irq_domains(_kern(k)).add(d)


def irq_domain_remove(domain: irq_domain, k: Kernel | None = None) -> None:
    irq_domains(_kern(k)).remove(domain)


def irq_create_mapping(domain: irq_domain, hwirq: int, k: Kernel | None = None) -> int:
    """A Linux irq for ``hwirq`` of ``domain`` (0 on failure)."""
    return irq_domains(_kern(k)).create_mapping(domain, hwirq)


def irq_find_mapping(domain: irq_domain, hwirq: int, k: Kernel | None = None) -> int:
    return irq_domains(_kern(k)).find_mapping(domain, hwirq)


def irq_dispose_mapping(virq: int, k: Kernel | None = None) -> None:
    irq_domains(_kern(k)).dispose_mapping(virq)


def irq_find_host(node: Any, k: Kernel | None = None) -> irq_domain | None:
    return irq_domains(_kern(k)).find_host(node)


def generic_handle_domain_irq(domain: irq_domain, hwirq: int, k: Kernel | None = None) -> int:
    """Run the handlers of ``hwirq`` of ``domain`` (a chained handler's demux): 0, or
    -EINVAL when nothing is mapped there."""
    kk = _kern(k)
    virq = irq_domains(kk).find_mapping(domain, hwirq)
    if not virq:
        return -EINVAL
    from .irq import irq_core

    desc = irq_core(kk).descs.get(virq)
    if desc is None:
        return -EINVAL
    irq_core(kk).handle(desc)
    return 0


def irq_create_of_mapping(spec: OfIrq, k: Kernel | None = None) -> int:
    """``irq_create_of_mapping`` for a decoded specifier: 0 when the controller has
    no domain (yet) or refuses it."""
    kk = _kern(k)
    domain = irq_domains(kk).find_host(spec.controller)
    if domain is None:
        return 0
    return irq_domains(kk).create_mapping(domain, spec.hwirq, spec.type)


def of_irq_get_node(node: DeviceNode, index: int, k: Kernel | None = None) -> int:
    """``of_irq_get``: the Linux irq of interrupt ``index``, -EINVAL when there is none,
    -EPROBE_DEFER when its controller has no driver yet."""
    from ..of import of_irq_get as decode
    from ..of import of_irq_parse_one
    from .of import of_root

    kk = _kern(k)
    tree = of_root(kk)
    if tree is None:
        return -EINVAL
    spec = of_irq_parse_one(tree, node, index)
    if spec is None:
        return -EINVAL
    domain = irq_domains(kk).find_host(spec.np)
    if domain is None:
        return -EPROBE_DEFER
    got = decode(tree, node, index)
    if got is None:
        return 0
    return irq_domains(kk).create_mapping(domain, got.hwirq, got.type)


__all__ = ["IRQ_TYPE_EDGE_BOTH", "IRQ_TYPE_EDGE_FALLING", "IRQ_TYPE_EDGE_RISING",
           "IRQ_TYPE_LEVEL_HIGH", "IRQ_TYPE_LEVEL_LOW", "IRQ_TYPE_NONE", "IrqDomains",
           "generic_handle_domain_irq", "irq_create_mapping", "irq_create_of_mapping",
           "irq_dispose_mapping", "irq_domain", "irq_domain_add_linear", "irq_domain_remove",
           "irq_domains", "irq_find_host", "irq_find_mapping"]
