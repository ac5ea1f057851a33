"""Spinlocks and local interrupt masking (include/linux/spinlock.h, irqflags.h).

The simulated machine has one CPU.  Interrupts are delivered synchronously,
at the bus access (or time step) that makes a device assert its line, so a
handler can run in the middle of a register sequence exactly where real
hardware would interrupt it.  ``local_irq_save``/``spin_lock_irqsave`` hold
delivery back until the matching restore.  Taking a lock the interrupted code
already holds can never succeed on one CPU: the kernel spins forever (what
lockdep reports as inconsistent lock state); here it is reported the same way
and stops the run instead of hanging it.
"""

from __future__ import annotations

from .kernel import KERNEL_RELEASE, Kernel, current_kernel


class KernelDeadlock(RuntimeError):
    """The CPU would spin forever on a lock it already holds."""


class spinlock_t:  # noqa: N801 - the kernel's name
    """``spinlock_t``: who holds it, and from which context it was taken."""

    def __init__(self, name: str = "lock") -> None:
        self.name = name
        self.owner_ctx: str | None = None  # "process" or "hardirq" while held

    @property
    def locked(self) -> bool:
        return self.owner_ctx is not None

    def __repr__(self) -> str:
        return f"<spinlock_t {self.name} {'held' if self.locked else 'free'}>"


DEFINE_SPINLOCK = spinlock_t


def spin_lock_init(lock: spinlock_t) -> None:
    lock.owner_ctx = None


def _ctx(k: Kernel) -> str:
    return "hardirq" if k.irq_context else "process"


def _inconsistent(k: Kernel, lock: spinlock_t, ctx: str) -> None:
    held_by = lock.owner_ctx
    lines = ["", "================================", "WARNING: inconsistent lock state",
             f"{KERNEL_RELEASE} #1 Not tainted", "--------------------------------",
             "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage." if ctx == "hardirq" else
             "inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.",
             f"{k.comm}/{k.pid} [HC{int(ctx == 'hardirq')}[{int(ctx == 'hardirq')}]:SC0[0]:"
             f"HE0:SE1] takes:", f"  ({lock.name}){{?.+.}}-{{2:2}}"]
    for ln in lines:
        k.printk_warn(ln)
    k.dump_stack()
    raise KernelDeadlock(
        f"spin_lock({lock.name}) in {ctx} context: the lock is held by the {held_by} "
        "context this one interrupted, so the CPU spins forever. Take the lock with "
        "spin_lock_irqsave() in process context so the interrupt waits for the unlock.")


def spin_lock(lock: spinlock_t) -> None:
    k = current_kernel()
    ctx = _ctx(k)
    if lock.locked:
        _inconsistent(k, lock, ctx)
    lock.owner_ctx = ctx


def spin_unlock(lock: spinlock_t) -> None:
    if not lock.locked:
        k = current_kernel()
        k.WARN(f"spin_unlock of {lock.name}, which is not locked", "kernel/locking/spinlock.c",
               "_raw_spin_unlock")
        return
    lock.owner_ctx = None


def local_irq_save() -> bool:
    """Mask interrupts on this CPU; returns the previous state for ``local_irq_restore``."""
    k = current_kernel()
    flags = k.irqs_disabled
    k.irqs_disabled = True
    return flags


def local_irq_restore(flags: bool) -> None:
    k = current_kernel()
    k.irqs_disabled = bool(flags)
    if not k.irqs_disabled:
        k.deliver_pending_irqs()


def local_irq_disable() -> None:
    current_kernel().irqs_disabled = True


def local_irq_enable() -> None:
    local_irq_restore(False)


def irqs_disabled() -> bool:
    return current_kernel().irqs_disabled


def in_interrupt() -> bool:
    return current_kernel().irq_context


in_irq = in_hardirq = in_interrupt


def spin_lock_irqsave(lock: spinlock_t) -> bool:
    """Returns ``flags`` (C passes it by name to the macro)."""
    flags = local_irq_save()
    spin_lock(lock)
    return flags


def spin_unlock_irqrestore(lock: spinlock_t, flags: bool) -> None:
    spin_unlock(lock)
    local_irq_restore(flags)


def spin_lock_irq(lock: spinlock_t) -> None:
    local_irq_disable()
    spin_lock(lock)


def spin_unlock_irq(lock: spinlock_t) -> None:
    spin_unlock(lock)
    local_irq_enable()
