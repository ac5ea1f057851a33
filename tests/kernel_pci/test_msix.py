"""MSI-X vectors: the kernel programs the table through its BAR, and each vector's
message reaches its own handler."""

from __future__ import annotations

from pci_rig import Scratch, pc

from iomem.devices.pci import regs as R
from iomem.kernel.irq import IRQ_HANDLED, irq_core, proc_interrupts, request_irq
from iomem.kernel.pci import (
    PCI_IRQ_MSI,
    PCI_IRQ_MSIX,
    pci_alloc_irq_vectors,
    pci_core,
    pci_enable_device,
    pci_free_irq_vectors,
    pci_irq_vector,
    pci_read_config_word,
    pci_set_master,
)


def _board():
    fn = Scratch([(0, 4096, "mem32", False)])
    fn.add_msix(4, table_bar=0)
    k = pc(devices=["edu", fn])
    return k, fn, pci_core(k).find("00:05.0")


def test_msix_vectors_each_reach_their_handler() -> None:
    k, fn, dev = _board()
    with k:
        pci_enable_device(dev)
        pci_set_master(dev)
        assert dev.msix_cap
        assert pci_alloc_irq_vectors(dev, 1, 4, PCI_IRQ_MSIX) == 4
        irqs = [pci_irq_vector(dev, i) for i in range(4)]
        assert irqs == [24, 25, 26, 27]
        seen: list[int] = []
        for irq in irqs:
            assert request_irq(irq, lambda i, d: seen.append(i) or IRQ_HANDLED, 0,
                               f"scratch-{irq}", None) == 0
        cmd = pci_read_config_word(dev, R.PCI_COMMAND)[1]
        assert cmd & R.PCI_COMMAND_INTX_DISABLE
        assert fn.msix.enabled and not fn.msix.function_masked
        address, data, ctrl = fn.msix.entry(2)
        assert address == 0xFEE01004 and not ctrl & R.PCI_MSIX_ENTRY_CTRL_MASKBIT
        fn.msix.notify(2)
        fn.msix.notify(0)
        assert seen == [26, 24]
        assert "PCI-MSI 81922-edge      scratch-26" in proc_interrupts(k)
        for irq in irqs:
            from iomem.kernel.irq import free_irq
            free_irq(irq, None)
        pci_free_irq_vectors(dev)
        assert not fn.msix.enabled and not dev.msix_enabled
        assert all(i not in irq_core(k).descs for i in irqs)
        assert k.proc_vmallocinfo() == ""  # the table mapping went too


def test_no_msi_capability_means_no_msi_vector() -> None:
    k, _fn, dev = _board()
    with k:
        pci_enable_device(dev)
        assert pci_alloc_irq_vectors(dev, 1, 1, PCI_IRQ_MSI) < 0
