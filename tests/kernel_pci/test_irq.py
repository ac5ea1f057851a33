"""The irq core: handlers on level and edge inputs, sharing, disable/enable, the spurious
interrupt detector, managed irqs and /proc/interrupts."""

from __future__ import annotations

import re

import pytest

from iomem.kernel import Kernel
from iomem.kernel.errno import EBUSY, EINVAL, ENOTCONN
from iomem.kernel.irq import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQ_NOTCONNECTED,
    IRQ_WAKE_THREAD,
    IRQF_SHARED,
    IRQF_TRIGGER_HIGH,
    IrqStorm,
    devm_request_irq,
    disable_irq,
    enable_irq,
    free_irq,
    irq_core,
    proc_interrupts,
    request_irq,
    request_threaded_irq,
)


def _log(k: Kernel) -> list[str]:
    return [re.sub(r"^\[[ 0-9.]+\] ", "", ln) for ln in k.dmesg().splitlines()]


class Source:
    """A level interrupt source on machine line ``n`` that a handler can quiet."""

    def __init__(self, k: Kernel, n: int) -> None:
        self.line = k.machine.irq(n)
        self.pending = False

    def assert_(self) -> None:
        self.pending = True
        self.line.set(True)

    def ack(self) -> None:
        self.pending = False
        self.line.set(False)


def test_a_level_handler_runs_while_the_line_is_asserted(k: Kernel) -> None:
    src = Source(k, 10)
    calls: list[tuple[int, object]] = []

    def handler(irq: int, dev_id: object) -> int:
        calls.append((irq, dev_id))
        src.ack()
        return IRQ_HANDLED
    assert request_irq(10, handler, 0, "lvl", "cookie") == 0
    src.assert_()
    assert calls == [(10, "cookie")]
    assert irq_core(k).descs[10].count == 1


def test_a_level_line_asserted_before_request_fires_when_unmasked(k: Kernel) -> None:
    src = Source(k, 10)
    src.assert_()
    seen: list[int] = []

    def handler(irq: int, dev_id: object) -> int:
        seen.append(irq)
        src.ack()
        return IRQ_HANDLED
    request_irq(10, handler, 0, "late", None)
    assert seen == [10]


def test_shared_handlers_both_run_and_the_owner_claims(k: Kernel) -> None:
    src = Source(k, 11)
    order: list[str] = []

    def other(irq: int, dev_id: object) -> int:
        order.append("other")
        return IRQ_NONE

    def owner(irq: int, dev_id: object) -> int:
        order.append("owner")
        src.ack()
        return IRQ_HANDLED
    assert request_irq(11, other, IRQF_SHARED, "other", "a") == 0
    assert request_irq(11, owner, IRQF_SHARED, "owner", "b") == 0
    src.assert_()
    assert order == ["other", "owner"]


def test_sharing_needs_both_to_agree(k: Kernel) -> None:
    def h(irq: int, dev_id: object) -> int:
        return IRQ_NONE
    assert request_irq(11, h, 0, "first", "a") == 0
    assert request_irq(11, h, IRQF_SHARED, "second", "b") == -EBUSY
    assert "genirq: Flags mismatch irq 11. 00000080 (second) vs. 00000000 (first)" in _log(k)
    assert request_irq(10, h, IRQF_SHARED, "x", "a") == 0
    assert request_irq(10, h, IRQF_SHARED | IRQF_TRIGGER_HIGH, "y", "b") == -EBUSY


def test_the_kernels_argument_checks(k: Kernel) -> None:
    def h(irq: int, dev_id: object) -> int:
        return IRQ_NONE
    assert request_irq(10, h, IRQF_SHARED, "noid", None) == -EINVAL
    assert request_irq(IRQ_NOTCONNECTED, h, 0, "nc", None) == -ENOTCONN
    assert request_irq(99, h, 0, "nodesc", None) == -EINVAL  # no such input on this board
    assert request_threaded_irq(10, None, None, 0, "neither", None) == -EINVAL


def test_freeing_a_free_irq_warns(k: Kernel) -> None:
    assert free_irq(10, "nobody") is None
    assert "Trying to free already-free IRQ 10" in k.dmesg()
    assert "W" in k.tainted


def test_free_irq_returns_the_name_and_silences_the_line(k: Kernel) -> None:
    src = Source(k, 10)
    calls: list[int] = []

    def h(irq: int, dev_id: object) -> int:
        calls.append(irq)
        src.ack()
        return IRQ_HANDLED
    request_irq(10, h, 0, "gone", "d")
    assert free_irq(10, "d") == "gone"
    src.assert_()
    assert calls == []


def test_disable_holds_an_edge_and_enable_replays_it(k: Kernel) -> None:
    line = k.machine.irq(4)  # an ISA irq: edge
    seen: list[int] = []
    request_irq(4, lambda irq, d: seen.append(irq) or IRQ_HANDLED, 0, "edge", None)
    disable_irq(4)
    line.pulse()
    assert seen == []
    enable_irq(4)
    assert seen == [4]


def test_a_threaded_handler_runs_after_its_primary(k: Kernel) -> None:
    src = Source(k, 10)
    order: list[str] = []

    def primary(irq: int, dev_id: object) -> int:
        order.append("primary")
        return IRQ_WAKE_THREAD

    def thread(irq: int, dev_id: object) -> int:
        order.append("thread")
        src.ack()
        return IRQ_HANDLED
    request_threaded_irq(10, primary, thread, 0, "thr", None)
    src.assert_()
    assert order == ["primary", "thread"]


def test_nobody_cared_disables_an_unclaimed_level_irq(k: Kernel) -> None:
    src = Source(k, 10)
    request_irq(10, lambda irq, d: IRQ_NONE, 0, "deaf", None)
    src.assert_()  # stays asserted: nobody acknowledges it
    log = _log(k)
    assert 'irq 10: nobody cared (try booting with the "irqpoll" option)' in log
    assert "handlers:" in log
    assert "Disabling IRQ #10" in log
    assert irq_core(k).descs[10].count == 100_000


def test_a_handler_that_claims_but_never_quiets_is_a_storm(k: Kernel) -> None:
    src = Source(k, 10)
    request_irq(10, lambda irq, d: IRQ_HANDLED, 0, "liar", None)
    with pytest.raises(IrqStorm, match="acknowledge the interrupt in the device"):
        src.assert_()


def test_devm_request_irq_is_freed_on_unbind(k: Kernel, pdev) -> None:
    from iomem.kernel.pci import PCI_DEVICE, pci_driver, pci_register_driver

    def probe(p, id):
        return devm_request_irq(p.dev, 11, lambda irq, d: IRQ_NONE, IRQF_SHARED, "managed", p)
    drv = pci_driver("m", [PCI_DEVICE(0x1234, 0x11E8)], probe)
    pci_register_driver(drv)
    assert [a.name for a in irq_core(k).descs[11].actions] == ["managed"]
    k.devices.unbind("0000:00:04.0")
    assert irq_core(k).descs[11].actions == []


def test_proc_interrupts_format(k: Kernel) -> None:
    src = Source(k, 11)

    def h(irq: int, dev_id: object) -> int:
        src.ack()
        return IRQ_HANDLED
    request_irq(11, h, IRQF_SHARED, "uio_pci_generic", "x")
    src.assert_()
    text = proc_interrupts(k)
    assert text.splitlines()[0] == "           CPU0       "
    assert " 11:          1   IO-APIC  11-fasteoi   uio_pci_generic" in text.splitlines()


def test_platform_irqs_on_a_board_without_an_interrupt_controller_description() -> None:
    """A board with no device tree and no irq domain hands machine line numbers straight
    to request_irq: one descriptor per machine line, made on first use."""
    from iomem.boards import Board, boot
    from iomem.machine import Machine

    k = boot(Board("bare", Machine("bare", arch="arm64"), "arm64", lambda k: None))
    with k:
        assert request_irq(33, lambda irq, d: IRQ_HANDLED, 0, "uart-pl011", None) == 0
        desc = irq_core(k).descs[33]
        assert (desc.chip, desc.hwirq, desc.line) == ("GIC", 33, k.machine.irq(33))
