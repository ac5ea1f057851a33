"""Spinlocks and local interrupt masking on the one simulated CPU.

The device here has an INDEX/DATA register pair (the classic indirect access)
and raises its interrupt when its "event" register is poked, so the handler
runs in the middle of the interrupted code's register sequence.
"""

from __future__ import annotations

import pytest

from iomem.boards import Board, boot
from iomem.devices.base import MmioDevice
from iomem.kernel import readl, request_mem_region, writel
from iomem.kernel.api import ioremap
from iomem.kernel.irq import IRQ_HANDLED, request_irq
from iomem.kernel.spinlock import (
    KernelDeadlock,
    in_interrupt,
    irqs_disabled,
    spin_lock,
    spin_lock_irqsave,
    spin_unlock,
    spin_unlock_irqrestore,
    spinlock_t,
)
from iomem.machine import Machine
from iomem.phys import AccessRules

INDEX, DATA, EVENT, ACK = 0x0, 0x4, 0x8, 0xC
IRQ = 5


class Indirect(MmioDevice):
    name = "indirect"
    size = 0x1000
    rules = AccessRules(valid_sizes=frozenset({4}))

    def __init__(self) -> None:
        super().__init__()
        self.index = 0
        self.bank = {i: 0x100 + i for i in range(16)}

    def read(self, off: int, size: int) -> int:
        return self.bank[self.index] if off == DATA else self.index if off == INDEX else 0

    def write(self, off: int, size: int, value: int) -> None:
        if off == INDEX:
            self.index = value & 0xF
        elif off == DATA:
            self.bank[self.index] = value
        elif off == EVENT:
            self.set_irq(True)
        elif off == ACK:
            self.set_irq(False)


@pytest.fixture
def rig():
    m = Machine("lockbox", arch="arm64")
    dev = Indirect()
    m.add_device(dev, 0x1000_0000)
    dev.connect_irq(0, m.irq(IRQ))
    k = boot(Board("lockbox", m, "arm64", lambda k: None))
    with k:
        assert request_mem_region(0x1000_0000, 0x1000, "indirect") is not None
        base = ioremap(0x1000_0000, 0x1000)
        yield k, dev, base


def read_indirect(base, index: int, poke_irq: bool) -> int:
    """Select a register, (let the interrupt arrive), read it back."""
    writel(index, base + INDEX)
    if poke_irq:
        writel(1, base + EVENT)  # the device interrupts here
    return readl(base + DATA)


def install_handler(base, lock: spinlock_t | None, seen: list) -> None:
    def handler(irq: int, dev_id: object) -> int:
        seen.append((in_interrupt(), irqs_disabled()))
        if lock is not None:
            spin_lock(lock)
        writel(9, base + INDEX)  # the handler's own indirect access
        readl(base + DATA)
        writel(1, base + ACK)
        if lock is not None:
            spin_unlock(lock)
        return IRQ_HANDLED
    assert request_irq(IRQ, handler, 0, "indirect", None) == 0


def test_without_a_lock_the_handler_corrupts_the_sequence(rig) -> None:
    k, dev, base = rig
    seen: list = []
    install_handler(base, None, seen)
    value = read_indirect(base, 3, poke_irq=True)
    assert seen == [(True, True)]  # ran in hardirq context with interrupts off
    assert value == 0x109  # register 9's value, not register 3's: the symptom


def test_spin_lock_shared_with_the_handler_deadlocks(rig) -> None:
    k, dev, base = rig
    lock = spinlock_t("indirect_lock")
    install_handler(base, lock, [])
    spin_lock(lock)
    with pytest.raises(KernelDeadlock, match="spin_lock_irqsave"):
        read_indirect(base, 3, poke_irq=True)
    assert "WARNING: inconsistent lock state" in k.dmesg()
    assert "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage." in k.dmesg()


def test_spin_lock_irqsave_holds_the_interrupt_until_the_unlock(rig) -> None:
    k, dev, base = rig
    lock = spinlock_t("indirect_lock")
    seen: list = []
    install_handler(base, lock, seen)
    flags = spin_lock_irqsave(lock)
    value = read_indirect(base, 3, poke_irq=True)
    assert seen == []  # masked: not delivered yet
    assert value == 0x103
    spin_unlock_irqrestore(lock, flags)
    assert seen == [(True, True)]  # delivered at the restore
    assert not irqs_disabled() and not in_interrupt()
    assert dev.irq_out[0].level is False  # the handler acknowledged it
