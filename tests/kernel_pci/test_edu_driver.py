"""QEMU's edu device through its Python driver on the pc board: every register rule of
docs/specs/edu.rst, both interrupt kinds, DMA, and the probe's error paths."""

from __future__ import annotations

import re

import pytest

from iomem.drivers import edu as E
from iomem.kernel import Kernel, readl, readq, readw, writel, writew
from iomem.kernel.errno import EBUSY, ENODEV
from iomem.kernel.irq import irq_core, proc_interrupts
from iomem.kernel.pci import pci_core, pci_dev


def _log(k: Kernel) -> list[str]:
    return [re.sub(r"^\[[ 0-9.]+\] ", "", ln) for ln in k.dmesg().splitlines()]


@pytest.fixture
def intx(k: Kernel, pdev: pci_dev, monkeypatch: pytest.MonkeyPatch) -> E.edu_dev:
    """The edu driver bound with MSI turned off (module parameter use_msi=0)."""
    monkeypatch.setattr(E, "use_msi", False)
    E.edu_init()
    return E.edu_get(pdev)


# -- probe ---------------------------------------------------------------------------------

def test_probe_claims_maps_and_announces(k: Kernel, edu: E.edu_dev) -> None:
    assert _log(k)[-2:] == [r"ACPI: \_SB_.LNKD: Enabled at IRQ 11",
                            "edu 0000:00:04.0: edu 1.0, irq 24 (MSI)"]
    assert "  fea00000-feafffff : 0000:00:04.0\n    fea00000-feafffff : edu\n" in k.proc_iomem()
    assert re.search(r"pci_iomap_range\+0x\w+/0x\w+ phys=0x00000000fea00000 ioremap",
                     k.proc_vmallocinfo())
    assert edu.pdev.is_busmaster and edu.pdev.msi_enabled
    assert edu.pdev.dev.dma_mask == (1 << 28) - 1


def test_remove_releases_everything(k: Kernel, edu: E.edu_dev, pdev: pci_dev) -> None:
    k.devices.unbind("0000:00:04.0")
    assert "    fea00000-feafffff : edu" not in k.proc_iomem()
    assert k.proc_vmallocinfo() == ""
    assert not pdev.msi_enabled and pdev.irq == 11
    assert 24 not in irq_core(k).descs
    assert pdev.enable_cnt == 0 and not pdev.is_busmaster
    assert not E.edu_get(pdev)


def test_probe_fails_cleanly_when_the_bar_is_taken(k: Kernel, pdev: pci_dev) -> None:
    k.request_mem_region(0xFEA00000, 0x100, "squatter")
    before_vm = k.proc_vmallocinfo()
    E.edu_init()
    log = _log(k)
    assert "edu 0000:00:04.0: BAR 0: can't reserve [mem 0xfea00000-0xfeafffff]" in log
    assert f"edu: probe of 0000:00:04.0 failed with error -{EBUSY}" in log
    assert pdev.driver is None and pdev.enable_cnt == 0
    assert k.proc_vmallocinfo() == before_vm


def test_probe_refuses_a_device_that_is_not_edu(k: Kernel, pdev: pci_dev) -> None:
    fn = pci_core(k).host_bridges[0].hw.lookup("0000:00:04.0")
    fn.mmio_read = lambda off, size: 0x12345678  # not the identification
    fn.mmio.region.ops.read = fn.mmio_read
    E.edu_init()
    assert "edu 0000:00:04.0: unexpected identification 0x12345678" in _log(k)
    assert f"edu: probe of 0000:00:04.0 rejects match -{ENODEV}" not in _log(k)  # debug only
    assert pdev.driver is None
    assert "edu" not in k.proc_iomem()


# -- registers -----------------------------------------------------------------------------

def test_identification(edu: E.edu_dev) -> None:
    assert E.edu_ident(edu) == (0x010000ED, 1, 0)
    assert E.edu_is_edu(edu)


@pytest.mark.parametrize("value", [0, 0x12345678, 0xFFFFFFFF, 0x80000001])
def test_liveness_inverts(edu: E.edu_dev, value: int) -> None:
    assert E.edu_liveness(edu, value) == ~value & 0xFFFFFFFF


@pytest.mark.parametrize(("n", "result"), [(0, 1), (1, 1), (5, 120), (12, 479001600),
                                           (13, 1932053504), (33, 2147483648), (34, 0),
                                           (100, 0)])
def test_factorial_by_polling(edu: E.edu_dev, n: int, result: int) -> None:
    assert E.edu_factorial(edu, n) == result


def test_a_factorial_write_while_computing_is_ignored(k: Kernel, edu: E.edu_dev) -> None:
    edu.writel(5, E.EDU_FACTORIAL)
    assert edu.readl(E.EDU_STATUS) & E.EDU_STATUS_COMPUTING
    edu.writel(7, E.EDU_FACTORIAL)  # dropped: the device is busy
    assert E.edu_factorial(edu, 9) == -EBUSY
    k.udelay(10)
    assert edu.readl(E.EDU_STATUS) & E.EDU_STATUS_COMPUTING == 0
    assert edu.readl(E.EDU_FACTORIAL) == 120


def test_two_byte_accesses_are_rejected(k: Kernel, edu: E.edu_dev) -> None:
    assert readw(edu.base) == 0  # the bus refuses it; x86 reads 0
    writew(0x1234, edu.base + E.EDU_LIVENESS)
    assert edu.readl(E.EDU_LIVENESS) == 0  # reset value: the write never arrived


def test_an_8byte_read_below_0x80_reads_all_ones(edu: E.edu_dev) -> None:
    assert readq(edu.base) == 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize("off", [0x0C, 0x10, 0x30, 0x5C, 0x84, 0x9C, 0xA0, 0x1000, 0x40000])
def test_unknown_offsets_read_all_ones(edu: E.edu_dev, off: int) -> None:
    assert E.edu_read(edu, off) == 0xFFFFFFFF


def test_status_bit0_is_read_only(edu: E.edu_dev) -> None:
    edu.writel(0x81, E.EDU_STATUS)
    assert edu.readl(E.EDU_STATUS) == 0x80
    edu.writel(0, E.EDU_STATUS)


# -- interrupts ------------------------------------------------------------------------------

def test_factorial_by_msi(k: Kernel, edu: E.edu_dev) -> None:
    assert E.edu_factorial_irq(edu, 13) == 1932053504
    assert edu.irq_status & E.EDU_IRQ_FACT
    assert edu.readl(E.EDU_IRQ_STATUS) == 0  # the handler acknowledged it
    line = [ln for ln in proc_interrupts(k).splitlines() if ln.startswith(" 24:")][0]
    assert re.fullmatch(r" 24: +\d+   PCI-MSI 65536-edge      edu", line)


def test_factorial_by_intx(k: Kernel, intx: E.edu_dev) -> None:
    assert intx.irq == 11 and not intx.msi
    assert E.edu_factorial_irq(intx, 12) == 479001600
    assert not k.machine.irq(11).level  # acknowledged: the line is down again
    assert " 11:          1   IO-APIC  11-fasteoi   edu" in proc_interrupts(k).splitlines()
    assert "edu 0000:00:04.0: edu 1.0, irq 11 (INTx)" in _log(k)


@pytest.mark.parametrize("kind", ["msi", "intx"])
def test_raise_and_acknowledge(request: pytest.FixtureRequest, kind: str) -> None:
    dev = request.getfixturevalue("edu" if kind == "msi" else "intx")
    assert E.edu_raise_irq(dev, 0x1234) == 0x1234
    assert dev.readl(E.EDU_IRQ_STATUS) == 0


def test_msi_needs_bus_mastering(k: Kernel, edu: E.edu_dev) -> None:
    from iomem.kernel.pci import pci_clear_master

    pci_clear_master(edu.pdev)
    count = edu.irq_count
    edu.writel(1, E.EDU_IRQ_RAISE)
    k.msleep(2)
    assert edu.irq_count == count  # the MSI write never left the device
    edu.writel(1, E.EDU_IRQ_ACK)


# -- DMA -------------------------------------------------------------------------------------

def test_dma_round_trip(k: Kernel, edu: E.edu_dev) -> None:
    data = bytes(range(100))
    t0 = k.machine.clock.now
    assert E.edu_dma_to_device(edu, data) == 0
    assert k.machine.clock.now - t0 >= 99_000_000  # QEMU's 100 ms timer
    fn = pci_core(k).host_bridges[0].hw.lookup("0000:00:04.0")
    assert bytes(fn.dma_buf[:100]) == data
    assert E.edu_dma_from_device(edu, 100) == data
    assert edu.irq_status & E.EDU_IRQ_DMA
    assert edu.readl(E.EDU_DMA_CMD) == E.EDU_DMA_CMD_IRQ | E.EDU_DMA_CMD_TO_RAM  # bit 0 clear


def test_dma_at_an_offset_of_the_device_buffer(edu: E.edu_dev) -> None:
    assert E.edu_dma_to_device(edu, b"edu!", dev_offset=0x800) == 0
    assert E.edu_dma_from_device(edu, 4, dev_offset=0x800) == b"edu!"


def test_dma_lands_in_the_coherent_buffer_below_the_mask(edu: E.edu_dev) -> None:
    assert edu.dma_handle + 4095 < 1 << 28
    assert edu.dma_buf.phys == edu.dma_handle


def test_a_dma_that_reaches_the_buffer_end_is_refused_by_the_driver(edu: E.edu_dev) -> None:
    from iomem.kernel.errno import EINVAL

    assert E.edu_dma_to_device(edu, bytes(4096)) == -EINVAL


def test_driver_logic_over_a_plain_accessor_object(k: Kernel, pdev: pci_dev) -> None:
    """The register logic needs only readl/writel: what a userspace mapping provides."""
    base = k.ioremap(0xFEA00000, 0x100)

    class Regs:
        def readl(self, off: int) -> int:
            return readl(base + off)

        def writel(self, value: int, off: int) -> None:
            writel(value, base + off)

        def udelay(self, us: int) -> None:
            k.udelay(us)
    r = Regs()
    assert E.edu_ident(r)[0] == 0x010000ED
    assert E.edu_liveness(r, 1) == 0xFFFFFFFE
    assert E.edu_factorial(r, 10) == 3628800
