"""The interrupt core (kernel/irq/manage.c, kernel/irq/chip.c, kernel/irq/spurious.c,
kernel/irq/devres.c, kernel/irq/proc.c): Linux irq numbers, their handlers, delivery.

A Linux irq number has a descriptor (:class:`IrqDesc`) that says which input
of the machine's interrupt controller it is (an :class:`~iomem.machine.IrqLine`),
which chip and hardware irq ``/proc/interrupts`` names, and how it is
delivered: ``fasteoi``/``level`` lines run their handlers while the line is
asserted (a handler that does not quiet the device sees the interrupt again,
as a level line re-fires after the EOI), ``edge`` lines and MSI run them once
per rising edge.  A disabled irq (``disable_irq``) keeps an edge pending and
replays it on ``enable_irq``, as ``check_irq_resend`` does.

Handlers are ``handler(irq, dev_id) -> IRQ_HANDLED | IRQ_NONE | IRQ_WAKE_THREAD``
and run in the kernel's context at the moment the device raises the line
(inside the device access or timer that raised it).  An irq whose handlers
keep answering IRQ_NONE while the line stays up is reported and disabled as
``__report_bad_irq`` does ("irq N: nobody cared").

Boards declare their interrupt controller's inputs (``setup_irq_line``);
MSI allocates Linux irqs from ``first_dynamic`` upwards.  A board that
declares nothing gets one descriptor per machine line on first use, the
Linux irq number being the line's number (what ``platform_get_irq`` returns
for such boards).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..trace import recorder as _trace  # interrupts (MSI too) show on traces
from .errno import EBUSY, EINVAL, ENOTCONN

if TYPE_CHECKING:
    from ..machine import IrqLine
    from .device import Device
    from .kernel import Kernel

# include/linux/irqreturn.h
IRQ_NONE = 0
IRQ_HANDLED = 1
IRQ_WAKE_THREAD = 2

# include/linux/interrupt.h
IRQF_TRIGGER_NONE = 0x00000000
IRQF_TRIGGER_RISING = 0x00000001
IRQF_TRIGGER_FALLING = 0x00000002
IRQF_TRIGGER_HIGH = 0x00000004
IRQF_TRIGGER_LOW = 0x00000008
IRQF_TRIGGER_MASK = 0x0000000F
IRQF_SHARED = 0x00000080
IRQF_PROBE_SHARED = 0x00000100
IRQF_TIMER = 0x00000200
IRQF_PERCPU = 0x00000400
IRQF_NOBALANCING = 0x00000800
IRQF_IRQPOLL = 0x00001000
IRQF_ONESHOT = 0x00002000
IRQF_NO_SUSPEND = 0x00004000
IRQF_FORCE_RESUME = 0x00008000
IRQF_NO_THREAD = 0x00010000
IRQF_EARLY_RESUME = 0x00020000
IRQF_COND_SUSPEND = 0x00040000
IRQF_NO_AUTOEN = 0x00080000
IRQF_NO_DEBUG = 0x00100000

#: include/linux/interrupt.h: an irq the platform says is not wired
IRQ_NOTCONNECTED = 1 << 31

Handler = Callable[[int, Any], int]


class IrqStorm(RuntimeError):
    """A level interrupt whose handler claims it (IRQ_HANDLED) but never quiets the
    device: the real CPU would take it forever and the system would hang."""


@dataclass(eq=False)
class irqaction:  # noqa: N801 - the kernel's name
    """``struct irqaction``: one handler on an irq line."""

    handler: Handler | None
    thread_fn: Handler | None
    flags: int
    name: str
    dev_id: Any
    irq: int


@dataclass(eq=False)
class IrqDesc:
    """``struct irq_desc``: what Linux irq ``irq`` is and who handles it."""

    irq: int
    line: IrqLine | None
    chip: str = "IO-APIC"
    hwirq: int = 0
    #: the flow handler's name as /proc/interrupts shows it: edge, fasteoi, level
    flow: str = "edge"
    actions: list[irqaction] = field(default_factory=list)
    #: disable depth (1 while nobody has requested the irq, as irq_desc starts disabled)
    depth: int = 1
    count: int = 0
    irqs_unhandled: int = 0
    pending: bool = False
    in_progress: bool = False
    #: set after "nobody cared": the irq stays off until freed and requested again
    spurious_disabled: bool = False
    #: the device the irq belongs to (an MSI vector's function), for cleanup
    owner: Any = None
    msi_index: int | None = None

    @property
    def level(self) -> bool:
        return self.flow in ("fasteoi", "level")

    @property
    def disabled(self) -> bool:
        return self.depth > 0 or self.spurious_disabled


class IrqCore:
    """The irq descriptors of one kernel and their delivery."""

    #: note_interrupt: how many unhandled interrupts out of 100000 mean nobody cares
    SPURIOUS_LIMIT = 99_900
    SPURIOUS_WINDOW = 100_000

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.descs: dict[int, IrqDesc] = {}
        #: a board without an interrupt-controller description gets one desc per line
        self.auto_map = True
        self.auto_chip = "GIC" if not kernel.arch.is_x86 else "IO-APIC"
        #: first Linux irq number handed to MSI (x86: after the IOAPIC's 24 inputs; arm64:
        #: above the GIC's interrupt IDs, which boards without an irq domain use as is)
        self.first_dynamic = 24 if kernel.arch.is_x86 else 1020
        #: what an MSI message's data carries and the machine line it pulses: x86 CPU
        #: vectors (0x30-0x3f are the ISA irqs'), or the SPIs of QEMU virt's GICv2m frame
        self.msi_vectors = ([v for v in range(0x21, 0xEC) if not 0x30 <= v <= 0x3F]
                            if kernel.arch.is_x86 else list(range(80, 144)))
        self._vectors: set[int] = set()

    # -- descriptors ----------------------------------------------------------------

    def setup_irq_line(self, irq: int, line: IrqLine | None = None, *, chip: str = "IO-APIC",
                       hwirq: int | None = None, flow: str = "edge") -> IrqDesc:
        """Declare Linux irq ``irq`` as input ``line`` of ``chip`` (the board's part)."""
        if flow not in ("edge", "fasteoi", "level"):
            raise ValueError(f"irq flow must be edge, fasteoi or level, not {flow!r}")
        if line is None:
            line = self.k.machine.irq(irq)
        old = self.descs.get(irq)
        if old is not None and old.line is not None:
            old.line.disconnect(self._listener(old))
        desc = IrqDesc(irq, line, chip, irq if hwirq is None else hwirq, flow)
        if old is not None:
            desc.actions = old.actions
            desc.depth = old.depth
            desc.count = old.count
        self.descs[irq] = desc
        line.connect(self._listener(desc))
        return desc

    def _listener(self, desc: IrqDesc) -> Callable[[IrqLine, bool], None]:
        fn = getattr(desc, "_listener_fn", None)
        if fn is None:
            def fn(line: IrqLine, level: bool, desc: IrqDesc = desc) -> None:
                if level:
                    self.handle(desc)
            desc._listener_fn = fn  # type: ignore[attr-defined]
        return fn

    def irq_to_desc(self, irq: int) -> IrqDesc | None:
        desc = self.descs.get(irq)
        if desc is None and self.auto_map and 0 < irq < self.first_dynamic:
            desc = self.setup_irq_line(irq, chip=self.auto_chip, flow="fasteoi")
        return desc

    def alloc_msi_irq(self, owner: Any, hwirq: int, index: int) -> tuple[int, int]:
        """A new Linux irq for one MSI vector: (irq, x86 vector).  The vector names the
        machine line the MSI doorbell pulses."""
        irq = self.first_dynamic
        while irq in self.descs:
            irq += 1
        vector = self._alloc_vector()
        line = self.k.machine.irq(vector)
        desc = self.setup_irq_line(irq, line, chip="PCI-MSI", hwirq=hwirq, flow="edge")
        desc.owner = owner
        desc.msi_index = index
        desc.vector = vector  # type: ignore[attr-defined]
        return irq, vector

    def _alloc_vector(self) -> int:
        # x86: external vectors start at 0x20 (IRQ_MOVE_CLEANUP_VECTOR); the ISA irqs
        # sit at 0x30-0x3f (ISA_IRQ_VECTOR); system vectors from 0xec up
        for v in self.msi_vectors:
            if v not in self._vectors:
                self._vectors.add(v)
                return v
        raise RuntimeError("no free MSI vector")

    def free_msi_irq(self, irq: int) -> None:
        desc = self.descs.pop(irq, None)
        if desc is None:
            return
        if desc.actions:
            self.k.WARN(f"irq {irq}: freeing an MSI vector that still has handlers "
                        f"({', '.join(a.name for a in desc.actions)})",
                        "kernel/irq/msi.c", "msi_domain_free_descs")
        if desc.line is not None:
            desc.line.disconnect(self._listener(desc))
        self._vectors.discard(getattr(desc, "vector", -1))

    # -- request / free (kernel/irq/manage.c) ---------------------------------------

    def request_threaded_irq(self, irq: int, handler: Handler | None, thread_fn: Handler | None,
                             irqflags: int, devname: str, dev_id: Any) -> int:
        """0, or -EINVAL / -EBUSY / -ENOTCONN as the kernel returns them."""
        if irq == IRQ_NOTCONNECTED:
            return -ENOTCONN
        if ((irqflags & IRQF_SHARED) and dev_id is None) or \
                (not (irqflags & IRQF_SHARED) and irqflags & IRQF_COND_SUSPEND) or \
                ((irqflags & IRQF_NO_SUSPEND) and (irqflags & IRQF_COND_SUSPEND)):
            return -EINVAL
        if not isinstance(irq, int) or irq < 0:
            return -EINVAL
        desc = self.irq_to_desc(irq)
        if desc is None:
            return -EINVAL
        if handler is None:
            if thread_fn is None:
                return -EINVAL
            handler = _default_primary_handler
        new = irqaction(handler, thread_fn, irqflags, devname, dev_id, irq)
        if desc.actions:
            old = desc.actions[0]
            # __setup_irq: both must agree to share and on the trigger type
            mismatch = (not (old.flags & new.flags & IRQF_SHARED)
                        or (old.flags ^ new.flags) & IRQF_TRIGGER_MASK
                        or (old.flags ^ new.flags) & IRQF_ONESHOT)
            if mismatch:
                if not (new.flags & IRQF_PROBE_SHARED):
                    self.k.printk_err(f"genirq: Flags mismatch irq {irq}. {new.flags:08x} "
                                      f"({devname}) vs. {old.flags:08x} ({old.name})")
                return -EBUSY
        first = not desc.actions
        desc.actions.append(new)
        for hook in self.k.irq_hooks:  # the sanitizer's leak check
            hook("request", irq, dev_id, devname)
        if first:
            desc.irqs_unhandled = 0
            desc.count_window = 0  # type: ignore[attr-defined]
            desc.spurious_disabled = False
            if not irqflags & IRQF_NO_AUTOEN:
                desc.depth = 0
        # an asserted level line (or an edge that came while nobody listened and was
        # latched) is delivered as soon as the irq is unmasked
        self._replay(desc)
        return 0

    def free_irq(self, irq: int, dev_id: Any) -> str | None:
        """Remove the handler registered with ``dev_id``; returns its devname."""
        desc = self.descs.get(irq)
        if desc is None:
            return None
        for i, act in enumerate(desc.actions):
            if act.dev_id is dev_id:
                del desc.actions[i]
                for hook in self.k.irq_hooks:
                    hook("free", irq, dev_id, act.name)
                if not desc.actions:
                    desc.depth = 1  # irq_shutdown
                    desc.pending = False
                return act.name
        self.k.WARN(f"Trying to free already-free IRQ {irq}", "kernel/irq/manage.c",
                    "__free_irq")
        return None

    def disable_irq(self, irq: int) -> None:
        desc = self.descs.get(irq)
        if desc is not None:
            desc.depth += 1

    def enable_irq(self, irq: int) -> None:
        desc = self.descs.get(irq)
        if desc is None:
            return
        if desc.depth == 0:
            self.k.WARN(f"Unbalanced enable for IRQ {irq}", "kernel/irq/manage.c",
                        "__enable_irq")
            return
        desc.depth -= 1
        if desc.depth == 0:
            self._replay(desc)

    # -- delivery (kernel/irq/chip.c handle_*_irq, handle.c, spurious.c) -------------

    def _replay(self, desc: IrqDesc) -> None:
        if desc.disabled or not desc.actions:
            return
        if desc.pending or (desc.level and desc.line is not None and desc.line.level):
            desc.pending = False
            self.handle(desc)

    def handle(self, desc: IrqDesc) -> None:
        """An interrupt arrived on ``desc``'s input."""
        if self.k.irqs_disabled:  # masked on this CPU: taken when local_irq_restore()s
            if not any(getattr(f, "desc", None) is desc for f in self.k.pending_irq_deliveries):
                def later(desc: IrqDesc = desc) -> None:
                    if desc.line is None or desc.line.level or not desc.level:
                        self.handle(desc)
                later.desc = desc  # type: ignore[attr-defined]
                self.k.pending_irq_deliveries.append(later)
            return
        if desc.in_progress:
            desc.pending = True  # arrives again while its handler runs
            return
        if desc.disabled or not desc.actions:
            if not desc.level:
                desc.pending = True  # an edge is latched while masked (IRQS_PENDING)
            return
        claimed_forever = 0
        while True:
            desc.pending = False
            ret = self._run_actions(desc)
            if desc.spurious_disabled:
                return
            if desc.level:
                again = desc.line is not None and desc.line.level and not desc.disabled
                if not again:
                    return
                if ret & IRQ_HANDLED:
                    claimed_forever += 1
                    if claimed_forever >= self.SPURIOUS_WINDOW:
                        names = ", ".join(a.name for a in desc.actions)
                        raise IrqStorm(
                            f"irq {desc.irq}: the line stays asserted although its handler "
                            f"({names}) returned IRQ_HANDLED {self.SPURIOUS_WINDOW} times; "
                            "acknowledge the interrupt in the device before returning")
                continue
            if not desc.pending or desc.disabled:
                return

    def _run_actions(self, desc: IrqDesc) -> int:
        if _trace.recording():
            _trace.emit("irq", irq=desc.irq, hwirq=desc.hwirq, chip=desc.chip,
                        handlers=[a.name for a in desc.actions])
        desc.in_progress = True
        desc.count += 1
        ret = IRQ_NONE
        k = self.k
        was_irq, was_disabled = k.irq_context, k.irqs_disabled
        k.irq_context, k.irqs_disabled = True, True  # handlers run with interrupts off
        try:
            with self.k.active():
                for act in list(desc.actions):
                    r = act.handler(desc.irq, act.dev_id) if act.handler else IRQ_NONE
                    if r is None or not isinstance(r, int):
                        raise TypeError(f"irq {desc.irq} handler {act.name!r} must return "
                                        f"IRQ_HANDLED, IRQ_NONE or IRQ_WAKE_THREAD, not {r!r}")
                    if r & IRQ_WAKE_THREAD:
                        if act.thread_fn is None:
                            self.k.WARN(f"IRQ {desc.irq} device {act.name} returned "
                                        "IRQ_WAKE_THREAD but no thread function available.",
                                        "kernel/irq/handle.c", "__handle_irq_event_percpu",
                                        once=True)
                        else:
                            r = (r & ~IRQ_WAKE_THREAD) | act.thread_fn(desc.irq, act.dev_id)
                    ret |= r
        finally:
            desc.in_progress = False
            k.irq_context, k.irqs_disabled = was_irq, was_disabled
        self._note_interrupt(desc, ret)
        return ret

    def _note_interrupt(self, desc: IrqDesc, ret: int) -> None:
        """``note_interrupt``: count the unhandled ones, give up at 99,900 of 100,000."""
        window = getattr(desc, "count_window", 0) + 1
        desc.count_window = window  # type: ignore[attr-defined]
        if not ret & IRQ_HANDLED:
            desc.irqs_unhandled += 1
        if window < self.SPURIOUS_WINDOW:
            return
        desc.count_window = 0  # type: ignore[attr-defined]
        if desc.irqs_unhandled > self.SPURIOUS_LIMIT:
            self._report_bad_irq(desc)
            self.k.printk(0, f"Disabling IRQ #{desc.irq}")
            desc.spurious_disabled = True
        desc.irqs_unhandled = 0

    def _report_bad_irq(self, desc: IrqDesc) -> None:
        self.k.printk_err(f"irq {desc.irq}: nobody cared (try booting with the "
                          "\"irqpoll\" option)")
        self.k.dump_stack()
        self.k.printk_err("handlers:")
        for act in desc.actions:
            sym = getattr(act.handler, "__name__", "?")
            self.k.printk_err(f"[<{self.k.hashed_ptr(id(act.handler))}>] {sym}")

    # -- /proc/interrupts (kernel/irq/proc.c show_interrupts) ------------------------

    def proc_interrupts(self) -> str:
        prec = 3
        j = 1000
        nr = max([*self.descs, 0]) + 1
        while prec < 10 and j <= nr:
            prec += 1
            j *= 10
        out = [" " * (prec + 8) + f"CPU{0:<8d}"]
        show_level = not self.k.arch.is_x86
        for irq in sorted(self.descs):
            desc = self.descs[irq]
            if not desc.actions and not desc.count:
                continue
            line = f"{irq:{prec}d}: {desc.count:10d} "
            line += f" {desc.chip:>8s}"
            line += f" {desc.hwirq:{prec}d}"
            if show_level:  # arm64 selects GENERIC_IRQ_SHOW_LEVEL; its GIC descs have no name
                line += f" {'Level' if desc.level else 'Edge':<8s}"
            else:
                line += f"-{desc.flow:<8s}"
            if desc.actions:
                line += "  " + ", ".join(a.name for a in desc.actions)
            out.append(line)
        return "\n".join(out) + "\n"


def _default_primary_handler(irq: int, dev_id: Any) -> int:
    """``irq_default_primary_handler``: wake the thread."""
    return IRQ_WAKE_THREAD


# -- the kernel's functions by their C names -----------------------------------------

def irq_core(k: Kernel) -> IrqCore:
    """The interrupt core of kernel ``k`` (made on first use)."""
    core = k.__dict__.get("_irqcore")
    if core is None:
        core = k.__dict__["_irqcore"] = IrqCore(k)
    return core


def proc_interrupts(k: Kernel) -> str:
    """``/proc/interrupts`` of kernel ``k``: the irqs with a handler or a count."""
    return irq_core(k).proc_interrupts()


def _core(k: Kernel | None = None) -> IrqCore:
    from .kernel import current_kernel

    return irq_core(k or current_kernel())


def request_threaded_irq(irq: int, handler: Handler | None, thread_fn: Handler | None,
                         irqflags: int, devname: str, dev_id: Any) -> int:
    return _core().request_threaded_irq(irq, handler, thread_fn, irqflags, devname, dev_id)


def request_irq(irq: int, handler: Handler, flags: int, name: str, dev: Any) -> int:
    """Install ``handler`` on Linux irq ``irq``: 0 or a negative errno."""
    return _core().request_threaded_irq(irq, handler, None, flags, name, dev)


def free_irq(irq: int, dev_id: Any) -> str | None:
    return _core().free_irq(irq, dev_id)


def disable_irq(irq: int) -> None:
    _core().disable_irq(irq)


def disable_irq_nosync(irq: int) -> None:
    _core().disable_irq(irq)


def enable_irq(irq: int) -> None:
    _core().enable_irq(irq)


def synchronize_irq(irq: int) -> None:
    """Handlers run to completion before the raising access returns: nothing to wait for."""


def irq_has_action(irq: int) -> bool:
    desc = _core().descs.get(irq)
    return bool(desc and desc.actions)


# -- managed irqs (kernel/irq/devres.c) -----------------------------------------------

def _devm_irq_release(dev: Device, data: Any) -> None:
    irq, dev_id = data
    _core(dev.kernel).free_irq(irq, dev_id)


def devm_request_threaded_irq(dev: Device, irq: int, handler: Handler | None,
                              thread_fn: Handler | None, irqflags: int, devname: str | None,
                              dev_id: Any) -> int:
    """request_threaded_irq freed automatically when the driver unbinds."""
    from .kernel import current_kernel

    k = getattr(dev, "kernel", None) or current_kernel()
    k.deref_dev(dev)
    if devname is None:
        devname = dev.name
    rc = irq_core(k).request_threaded_irq(irq, handler, thread_fn, irqflags, devname, dev_id)
    if rc:
        return rc
    k.devices.devres_add(dev, _devm_irq_release, (irq, dev_id), "devm_irq_release")
    return 0


def devm_request_irq(dev: Device, irq: int, handler: Handler, irqflags: int,
                     devname: str | None, dev_id: Any) -> int:
    return devm_request_threaded_irq(dev, irq, handler, None, irqflags, devname, dev_id)


def devm_free_irq(dev: Device, irq: int, dev_id: Any) -> None:
    from .kernel import current_kernel

    k = getattr(dev, "kernel", None) or current_kernel()
    k.deref_dev(dev)
    node = k.devices.devres_remove(dev, _devm_irq_release, lambda d: d == (irq, dev_id))
    if node is None:
        k.WARN_ON("kernel/irq/devres.c", "devm_free_irq")
    irq_core(k).free_irq(irq, dev_id)


__all__ = [n for n in dir() if n.isupper() and n.startswith(("IRQ", "IRQF"))] + [
    "IrqCore", "IrqDesc", "IrqStorm", "irqaction", "irq_core", "proc_interrupts",
    "request_irq", "request_threaded_irq", "free_irq", "disable_irq", "disable_irq_nosync",
    "enable_irq", "synchronize_irq",
    "irq_has_action", "devm_request_irq", "devm_request_threaded_irq", "devm_free_irq"]
