"""A driver for QEMU's educational PCI device ``edu`` (1234:11e8), written like its C twin.

Two layers, so the same logic runs on the simulator and on real hardware:

- The register logic (:func:`edu_ident`, :func:`edu_liveness`,
  :func:`edu_factorial`, :func:`edu_read`) takes anything with
  ``readl(off)``/``writel(value, off)``: the kernel driver's :class:`edu_dev`
  (over its ``pcim_iomap`` cookie) or a userspace ``Mmio`` over PCI sysfs
  ``resource0`` on a real kernel (what the VM lab runs against QEMU's edu).
- The kernel driver: ``edu_probe`` enables the function (managed), claims
  and maps BAR 0, checks the identification register, sets the device's
  28-bit DMA mask, turns on bus mastering, takes one interrupt vector (MSI,
  or the INTx line when ``use_msi`` is off or MSI is unavailable), installs
  the handler and allocates a coherent DMA buffer; every step is checked and
  everything is released by devres when the driver unbinds.  On top:
  factorial by interrupt (:func:`edu_factorial_irq`) and DMA round trips
  (:func:`edu_dma_to_device`, :func:`edu_dma_from_device`).

Register map: docs/specs/edu.rst (see :mod:`iomem.devices.edu`).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..kernel.device import dev_err, dev_err_probe, dev_info
from ..kernel.dma import (
    DMA_BIT_MASK,
    GFP_KERNEL,
    KernelBuffer,
    dma_set_mask_and_coherent,
    dmam_alloc_coherent,
)
from ..kernel.errno import EINVAL, EIO, ENODEV, ENOMEM, ETIMEDOUT
from ..kernel.io import IoMem, readl, writel
from ..kernel.ioport import IORESOURCE_MEM
from ..kernel.irq import IRQ_HANDLED, IRQ_NONE, IRQF_SHARED, devm_request_irq
from ..kernel.pci import (
    PCI_DEVICE,
    PCI_IRQ_LEGACY,
    PCI_IRQ_MSI,
    pci_alloc_irq_vectors,
    pci_dev,
    pci_device_id,
    pci_driver,
    pci_get_drvdata,
    pci_irq_vector,
    pci_register_driver,
    pci_request_region,
    pci_resource_flags,
    pci_resource_len,
    pci_set_drvdata,
    pci_set_master,
    pci_unregister_driver,
    pcim_enable_device,
)
from ..kernel.pci_iomap import pcim_iomap

DRV_NAME = "edu"
PCI_VENDOR_ID_QEMU = 0x1234
PCI_DEVICE_ID_EDU = 0x11E8

# registers (BAR 0)
EDU_ID = 0x00
EDU_LIVENESS = 0x04
EDU_FACTORIAL = 0x08
EDU_STATUS = 0x20
EDU_IRQ_STATUS = 0x24
EDU_IRQ_RAISE = 0x60
EDU_IRQ_ACK = 0x64
EDU_DMA_SRC = 0x80
EDU_DMA_DST = 0x88
EDU_DMA_CNT = 0x90
EDU_DMA_CMD = 0x98

EDU_STATUS_COMPUTING = 0x01
EDU_STATUS_IRQFACT = 0x80
EDU_DMA_CMD_START = 0x01
EDU_DMA_CMD_TO_RAM = 0x02
EDU_DMA_CMD_IRQ = 0x04
EDU_IRQ_FACT = 0x00000001
EDU_IRQ_DMA = 0x00000100

EDU_BAR_SIZE = 1 << 20
EDU_DMA_BUF = 0x40000
EDU_DMA_BUF_SIZE = 4096
EDU_DMA_BITS = 28

#: module parameter: take an MSI vector when the function has one (else INTx)
use_msi = True


class EduRegs(Protocol):
    """What the register logic needs: 32-bit MMIO at an offset into BAR 0."""

    def readl(self, off: int) -> int: ...

    def writel(self, value: int, off: int) -> None: ...


# -- the register logic (kernel and userspace alike) ------------------------------------

def edu_ident(regs: EduRegs) -> tuple[int, int, int]:
    """(raw value, major, minor) of the identification register: 0x010000ed is 1.0."""
    v = regs.readl(EDU_ID)
    return v, v >> 24, (v >> 16) & 0xFF


def edu_is_edu(regs: EduRegs) -> bool:
    return regs.readl(EDU_ID) & 0xFF == 0xED


def edu_liveness(regs: EduRegs, value: int) -> int:
    """Write ``value`` to the liveness register and read back what the device made of it
    (its bitwise inverse on a live device)."""
    regs.writel(value & 0xFFFFFFFF, EDU_LIVENESS)
    return regs.readl(EDU_LIVENESS)


def edu_read(regs: EduRegs, off: int) -> int:
    return regs.readl(off)


def _default_delay(regs: EduRegs) -> Any:
    delay = getattr(regs, "udelay", None)
    if delay is not None:
        return delay
    return lambda us: time.sleep(us / 1e6)


def edu_factorial(regs: EduRegs, n: int, timeout_us: int = 1_000_000,
                  delay: Any = None) -> int:
    """n! (32-bit wrap) by polling the computing bit; -ETIMEDOUT if it never clears,
    -EBUSY if a computation is already running (the device would ignore the write)."""
    delay = delay or _default_delay(regs)
    if regs.readl(EDU_STATUS) & EDU_STATUS_COMPUTING:
        return -16  # -EBUSY
    regs.writel(n & 0xFFFFFFFF, EDU_FACTORIAL)
    waited = 0
    while regs.readl(EDU_STATUS) & EDU_STATUS_COMPUTING:
        if waited >= timeout_us:
            return -ETIMEDOUT
        delay(1)
        waited += 1
    return regs.readl(EDU_FACTORIAL)


# -- the kernel driver ---------------------------------------------------------------------

class edu_dev:  # noqa: N801 - the C driver's struct
    """The driver's per-device state (``struct edu_dev``)."""

    def __init__(self, pdev: pci_dev) -> None:
        self.pdev = pdev
        self.base: IoMem | None = None
        self.irq = 0
        self.msi = False
        self.irq_count = 0
        self.irq_status = 0
        self.fact_done = False
        self.dma_done = False
        self.dma_buf: KernelBuffer | None = None
        self.dma_handle = 0

    # the register logic's interface, over the ioremap cookie
    def readl(self, off: int) -> int:
        return readl(self.base + off)

    def writel(self, value: int, off: int) -> None:
        writel(value, self.base + off)

    def udelay(self, us: int) -> None:
        self.pdev.kernel.udelay(us)

    def __repr__(self) -> str:
        return f"<edu_dev {self.pdev.name} irq {self.irq} ({'MSI' if self.msi else 'INTx'})>"


def edu_irq(irq: int, dev_id: Any) -> int:
    """The interrupt handler: acknowledge what the device raised; IRQ_NONE when it was
    not this device (the INTx line may be shared)."""
    edu: edu_dev = dev_id
    status = readl(edu.base + EDU_IRQ_STATUS)
    if not status:
        return IRQ_NONE
    writel(status, edu.base + EDU_IRQ_ACK)
    edu.irq_count += 1
    edu.irq_status |= status
    if status & EDU_IRQ_FACT:
        edu.fact_done = True
    if status & EDU_IRQ_DMA:
        edu.dma_done = True
    return IRQ_HANDLED


def edu_probe(pdev: pci_dev, id: pci_device_id) -> int:
    dev = pdev.dev
    edu = edu_dev(pdev)
    err = pcim_enable_device(pdev)
    if err:
        dev_err(dev, "cannot enable PCI device (%d)", err)
        return err
    if not pci_resource_flags(pdev, 0) & IORESOURCE_MEM:
        dev_err(dev, "BAR 0 is not a memory BAR")
        return -ENODEV
    if pci_resource_len(pdev, 0) < EDU_BAR_SIZE:
        dev_err(dev, "BAR 0 is too small (%#x bytes)", pci_resource_len(pdev, 0))
        return -ENODEV
    err = pci_request_region(pdev, 0, DRV_NAME)
    if err:
        return err
    edu.base = pcim_iomap(pdev, 0, 0)
    if edu.base is None:
        dev_err(dev, "cannot map BAR 0")
        return -ENOMEM
    ident, major, minor = edu_ident(edu)
    if ident & 0xFF != 0xED:
        dev_err(dev, "unexpected identification %#010x", ident)
        return -ENODEV
    err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(EDU_DMA_BITS))
    if err:
        dev_err(dev, "no usable DMA configuration")
        return err
    pci_set_master(pdev)
    flags = PCI_IRQ_LEGACY | (PCI_IRQ_MSI if use_msi else 0)
    nvec = pci_alloc_irq_vectors(pdev, 1, 1, flags)
    if nvec < 0:
        return dev_err_probe(dev, nvec, "cannot allocate an interrupt vector")
    edu.irq = pci_irq_vector(pdev, 0)
    edu.msi = pdev.msi_enabled
    err = devm_request_irq(dev, edu.irq, edu_irq, 0 if edu.msi else IRQF_SHARED, DRV_NAME, edu)
    if err:
        dev_err(dev, "cannot request irq %d (%d)", edu.irq, err)
        return err
    edu.dma_buf, edu.dma_handle = dmam_alloc_coherent(dev, EDU_DMA_BUF_SIZE, GFP_KERNEL)
    if edu.dma_buf is None:
        dev_err(dev, "cannot allocate the DMA buffer")
        return -ENOMEM
    pci_set_drvdata(pdev, edu)
    dev_info(dev, "edu %d.%d, irq %d (%s)", major, minor, edu.irq, "MSI" if edu.msi else "INTx")
    return 0


def edu_remove(pdev: pci_dev) -> None:
    """Quiesce the device; devres unmaps, releases and disables the rest."""
    edu: edu_dev = pci_get_drvdata(pdev)
    edu.writel(0, EDU_STATUS)  # no factorial interrupt after this
    for _ in range(200):  # a running transfer must not land in freed memory
        if not edu.readl(EDU_DMA_CMD) & EDU_DMA_CMD_START:
            break
        pdev.kernel.msleep(1)


edu_id_table = [PCI_DEVICE(PCI_VENDOR_ID_QEMU, PCI_DEVICE_ID_EDU), pci_device_id()]


def edu_pci_driver() -> pci_driver:
    """A fresh ``struct pci_driver`` for one kernel."""
    return pci_driver(DRV_NAME, edu_id_table, edu_probe, edu_remove)


def edu_init() -> pci_driver:
    """``module_init``: register the driver with the current kernel (it binds to every
    edu function); returns the driver for :func:`edu_exit`."""
    drv = edu_pci_driver()
    err = pci_register_driver(drv)
    if err:
        raise RuntimeError(f"edu: pci_register_driver failed ({err})")
    return drv


def edu_exit(drv: pci_driver) -> None:
    pci_unregister_driver(drv)


def edu_get(pdev: pci_dev) -> edu_dev | None:
    """The bound driver's state of ``pdev`` (None when the edu driver is not bound)."""
    if pdev.driver is None or pdev.driver.name != DRV_NAME:
        return None
    return pci_get_drvdata(pdev)


# -- factorial by interrupt, DMA ----------------------------------------------------------

def _wait(edu: edu_dev, flag: str, timeout_ms: int) -> bool:
    """Sleep (virtual time passes, the handler runs) until the handler sets ``flag``."""
    k = edu.pdev.kernel
    for _ in range(timeout_ms + 1):
        if getattr(edu, flag):
            return True
        k.msleep(1)
    return bool(getattr(edu, flag))


def edu_factorial_irq(edu: edu_dev, n: int, timeout_ms: int = 100) -> int:
    """n! with the completion interrupt (status bit 7) instead of polling."""
    if edu.readl(EDU_STATUS) & EDU_STATUS_COMPUTING:
        return -16  # -EBUSY
    edu.fact_done = False
    edu.writel(EDU_STATUS_IRQFACT, EDU_STATUS)
    edu.writel(n & 0xFFFFFFFF, EDU_FACTORIAL)
    ok = _wait(edu, "fact_done", timeout_ms)
    edu.writel(0, EDU_STATUS)
    if not ok:
        return -ETIMEDOUT
    return edu.readl(EDU_FACTORIAL)


def edu_raise_irq(edu: edu_dev, value: int, timeout_ms: int = 10) -> int:
    """Raise ``value`` through the raise register; returns what the handler acknowledged."""
    before = edu.irq_count
    edu.irq_status = 0
    edu.writel(value, EDU_IRQ_RAISE)
    for _ in range(timeout_ms + 1):
        if edu.irq_count != before:
            break
        edu.pdev.kernel.msleep(1)
    return edu.irq_status


def _dma(edu: edu_dev, src: int, dst: int, count: int, to_ram: bool, timeout_ms: int) -> int:
    if edu.readl(EDU_DMA_CMD) & EDU_DMA_CMD_START:
        return -16  # -EBUSY
    edu.writel(src & 0xFFFFFFFF, EDU_DMA_SRC)
    edu.writel(dst & 0xFFFFFFFF, EDU_DMA_DST)
    edu.writel(count, EDU_DMA_CNT)
    edu.dma_done = False
    cmd = EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ | (EDU_DMA_CMD_TO_RAM if to_ram else 0)
    edu.writel(cmd, EDU_DMA_CMD)
    if not _wait(edu, "dma_done", timeout_ms):
        return -ETIMEDOUT
    return 0


def edu_dma_to_device(edu: edu_dev, data: bytes, dev_offset: int = 0,
                      timeout_ms: int = 1000) -> int:
    """Copy ``data`` into the device's buffer by DMA (RAM -> device); 0 or -errno."""
    n = len(data)
    if not 0 < n < EDU_DMA_BUF_SIZE - dev_offset or dev_offset < 0:
        return -EINVAL  # QEMU 7.2 refuses a transfer that reaches the buffer's end
    if edu.dma_buf is None:
        return -EIO
    edu.dma_buf[0:n] = data
    return _dma(edu, edu.dma_handle, EDU_DMA_BUF + dev_offset, n, False, timeout_ms)


def edu_dma_from_device(edu: edu_dev, n: int, dev_offset: int = 0,
                        timeout_ms: int = 1000) -> bytes | int:
    """Read ``n`` bytes of the device's buffer by DMA (device -> RAM); bytes or -errno."""
    if not 0 < n < EDU_DMA_BUF_SIZE - dev_offset or dev_offset < 0:
        return -EINVAL
    if edu.dma_buf is None:
        return -EIO
    edu.dma_buf[0:n] = bytes(n)
    rc = _dma(edu, EDU_DMA_BUF + dev_offset, edu.dma_handle, n, True, timeout_ms)
    if rc:
        return rc
    return edu.dma_buf[0:n]


__all__ = ["DRV_NAME", "EduRegs", "edu_dev", "edu_dma_from_device", "edu_dma_to_device",
           "edu_exit", "edu_factorial", "edu_factorial_irq", "edu_get", "edu_ident", "edu_init",
           "edu_irq", "edu_is_edu", "edu_liveness", "edu_pci_driver", "edu_probe",
           "edu_raise_irq", "edu_read", "edu_remove", "edu_id_table", "use_msi"]
