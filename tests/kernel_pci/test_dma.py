"""The DMA mapping API over the pc board's RAM: masks, coherent buffers, streaming
mappings, and a bus master seeing what the CPU wrote."""

from __future__ import annotations

import pytest

from iomem.kernel import Kernel
from iomem.kernel.dma import (
    DMA_BIT_MASK,
    DMA_MAPPING_ERROR,
    DMA_TO_DEVICE,
    GFP_KERNEL,
    KernelBuffer,
    dma_alloc_coherent,
    dma_core,
    dma_free_coherent,
    dma_map_single,
    dma_mapping_error,
    dma_set_coherent_mask,
    dma_set_mask,
    dma_set_mask_and_coherent,
    dma_unmap_single,
    kfree,
    kmalloc,
    kzalloc,
)
from iomem.kernel.errno import EIO, ENOMEM
from iomem.kernel.pci import pci_core, pci_dev, pci_set_master


def test_dma_bit_mask() -> None:
    assert DMA_BIT_MASK(28) == 0x0FFFFFFF
    assert DMA_BIT_MASK(64) == 0xFFFFFFFFFFFFFFFF


def test_a_pci_device_starts_with_32bit_masks(pdev: pci_dev) -> None:
    assert pdev.dev.dma_mask == 0xFFFFFFFF and pdev.dev.coherent_dma_mask == 0xFFFFFFFF


def test_masks_below_zone_dma_are_refused(pdev: pci_dev) -> None:
    assert dma_set_mask(pdev.dev, DMA_BIT_MASK(20)) == -EIO
    assert dma_set_coherent_mask(pdev.dev, DMA_BIT_MASK(23)) == -EIO
    assert dma_set_mask_and_coherent(pdev.dev, DMA_BIT_MASK(28)) == 0
    assert pdev.dev.dma_mask == pdev.dev.coherent_dma_mask == DMA_BIT_MASK(28)
    assert dma_set_mask(pdev.dev, DMA_BIT_MASK(64)) == 0


def test_a_device_without_a_dma_mask_cannot_set_one(pdev: pci_dev) -> None:
    pdev.dev.dma_mask = None  # dev->dma_mask == NULL
    assert dma_set_mask(pdev.dev, DMA_BIT_MASK(32)) == -EIO


def test_coherent_memory_is_zeroed_ram_below_the_mask(k: Kernel, pdev: pci_dev) -> None:
    dma_set_mask_and_coherent(pdev.dev, DMA_BIT_MASK(28))
    cpu, handle = dma_alloc_coherent(pdev.dev, 5000, GFP_KERNEL)
    assert isinstance(cpu, KernelBuffer) and len(cpu) == 5000
    assert cpu.phys == handle and handle % 8192 == 0  # two pages, naturally aligned
    assert handle + 8191 <= DMA_BIT_MASK(28)
    assert bytes(cpu) == bytes(5000)
    assert k.pfn_is_map_memory(handle)
    # the kernel image is not handed out
    image = [r for r in k.iomem_resource.walk() if r.name and r.name.startswith("Kernel")]
    assert all(not (r.start <= handle <= r.end) for r in image)
    cpu[0:4] = b"abcd"
    assert k.machine.memory.read(handle, 4) == int.from_bytes(b"abcd", "little")
    dma_free_coherent(pdev.dev, 5000, cpu, handle)
    assert handle not in dma_core(k).pages


def test_a_28bit_device_gets_zone_dma_memory(k: Kernel, pdev: pci_dev) -> None:
    """ZONE_DMA32 pages sit above 256 MiB on this board: the allocation retries in
    ZONE_DMA (below 16 MiB), as dma_direct_alloc does."""
    dma_set_mask_and_coherent(pdev.dev, DMA_BIT_MASK(28))
    _cpu, handle = dma_alloc_coherent(pdev.dev, 4096)
    assert handle < 1 << 24
    dma_set_mask_and_coherent(pdev.dev, DMA_BIT_MASK(32))
    _cpu2, handle2 = dma_alloc_coherent(pdev.dev, 4096)
    assert 1 << 24 <= handle2 < 1 << 32


def test_a_bus_master_reads_what_the_cpu_wrote_and_the_other_way(k: Kernel,
                                                                  pdev: pci_dev) -> None:
    cpu, handle = dma_alloc_coherent(pdev.dev, 64)
    fn = pci_core(k).host_bridges[0].hw.lookup("0000:00:04.0")
    cpu[0:5] = b"hello"
    assert fn.dma_read(handle, 5) == bytes(5)  # bus mastering is off: nothing moves
    pci_set_master(pdev)
    assert fn.dma_read(handle, 5) == b"hello"
    fn.dma_write(handle + 8, b"world")
    assert cpu[8:13] == b"world"


def test_streaming_mappings_of_kmalloc_memory(k: Kernel, pdev: pci_dev) -> None:
    buf = kmalloc(100, GFP_KERNEL)
    addr = dma_map_single(pdev.dev, buf + 16, 32, DMA_TO_DEVICE)
    assert dma_mapping_error(pdev.dev, addr) == 0
    assert addr == buf.phys + 16
    dma_unmap_single(pdev.dev, addr, 32, DMA_TO_DEVICE)
    kfree(buf)
    z = kzalloc(10)
    assert bytes(z) == bytes(10)


def test_mapping_beyond_the_mask_fails_with_the_kernels_warning(k: Kernel,
                                                                 pdev: pci_dev) -> None:
    dma_set_mask(pdev.dev, DMA_BIT_MASK(32))
    buf = kmalloc(4096)
    pdev.dev.dma_mask = DMA_BIT_MASK(24)  # narrower than where the buffer is
    if buf.phys + 4095 <= DMA_BIT_MASK(24):
        pytest.skip("the buffer landed below 16 MiB")
    addr = dma_map_single(pdev.dev, buf, 4096, DMA_TO_DEVICE)
    assert addr == DMA_MAPPING_ERROR
    assert dma_mapping_error(pdev.dev, addr) == -ENOMEM
    assert f"pci 0000:00:04.0: DMA addr 0x{buf.phys:016x}+4096 overflow (mask ffffff, " \
           "bus limit 0)." in k.dmesg()


def test_only_kernel_memory_can_be_mapped(pdev: pci_dev) -> None:
    with pytest.raises(TypeError, match="kmalloc"):
        dma_map_single(pdev.dev, bytearray(16), 16, DMA_TO_DEVICE)


def test_kernel_buffers_are_pointers(k: Kernel) -> None:
    buf = kzalloc(64)
    p = buf + 8
    p[0:2] = b"hi"
    assert buf[8:10] == b"hi" and p.phys == buf.phys + 8
    assert p.vaddr == k.arch.page_offset + buf.phys + 8
    with pytest.raises(ValueError):
        buf + 65
    with pytest.raises(TypeError):
        kfree(p)  # not what kmalloc returned
