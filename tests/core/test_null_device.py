"""A NULL ``struct device *`` where the kernel dereferences it: the kernel's NULL-pointer
oops (not a Python AttributeError from inside iomem), the BUG_ON(!dev) of
devm_ioremap_resource, and the ``(NULL device *)`` prefix where dev_printk checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_rig import DEV_BASE, Rig, new_lines

from iomem.kernel import device as D
from iomem.kernel import devres, dma, irq
from iomem.kernel import platform as P
from iomem.kernel.errno import EINVAL, EPROBE_DEFER, ERR_PTR
from iomem.kernel.io import KernelOops
from iomem.kernel.ioport import IORESOURCE_MEM
from iomem.kernel.resource import DEFINE_RES_MEM

ARM64_NULL = "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000"
X86_NULL = "BUG: kernel NULL pointer dereference, address: 0000000000000000"

#: kernel functions that dereference dev before anything else can stop them
DEREFERENCING: dict[str, Callable[[], object]] = {
    "dma_alloc_coherent": lambda: dma.dma_alloc_coherent(None, 4096),
    "dmam_alloc_coherent": lambda: dma.dmam_alloc_coherent(None, 4096),
    "dma_free_coherent": lambda: dma.dma_free_coherent(None, 4096, None, 0),
    "dma_set_mask": lambda: dma.dma_set_mask(None, dma.DMA_BIT_MASK(32)),
    "dma_set_coherent_mask": lambda: dma.dma_set_coherent_mask(None, dma.DMA_BIT_MASK(32)),
    "dma_set_mask_and_coherent":
        lambda: dma.dma_set_mask_and_coherent(None, dma.DMA_BIT_MASK(32)),
    "dma_get_mask": lambda: dma.dma_get_mask(None),
    "dma_map_single": lambda: dma.dma_map_single(None, None, 4, dma.DMA_TO_DEVICE),
    "dma_unmap_single": lambda: dma.dma_unmap_single(None, 0, 4, dma.DMA_TO_DEVICE),
    "dma_sync_single_for_cpu":
        lambda: dma.dma_sync_single_for_cpu(None, 0, 4, dma.DMA_FROM_DEVICE),
    "dma_sync_single_for_device":
        lambda: dma.dma_sync_single_for_device(None, 0, 4, dma.DMA_TO_DEVICE),
    "devm_ioremap": lambda: devres.devm_ioremap(None, DEV_BASE, 0x100),
    "devm_ioremap_wc": lambda: devres.devm_ioremap_wc(None, DEV_BASE, 0x100),
    "devm_iounmap": lambda: devres.devm_iounmap(None, None),
    "devm_request_mem_region":
        lambda: devres.devm_request_mem_region(None, DEV_BASE, 0x100, "x"),
    "devm_release_mem_region": lambda: devres.devm_release_mem_region(None, DEV_BASE, 0x100),
    "devm_add_action": lambda: devres.devm_add_action(None, print, 1),
    "devm_add_action_or_reset": lambda: devres.devm_add_action_or_reset(None, print, 1),
    "dev_name": lambda: D.dev_name(None),
    "dev_get_drvdata": lambda: D.dev_get_drvdata(None),
    "dev_set_drvdata": lambda: D.dev_set_drvdata(None, 1),
    "of_match_device": lambda: D.of_match_device([D.OfDeviceId("x")], None),
    "of_device_get_match_data": lambda: D.of_device_get_match_data(None),
    "dev_err_probe(-EPROBE_DEFER)": lambda: D.dev_err_probe(None, -EPROBE_DEFER, "later"),
    "devm_request_irq": lambda: irq.devm_request_irq(None, 1, print, 0, "x", None),
    "devm_free_irq": lambda: irq.devm_free_irq(None, 1, None),
    "platform_get_resource": lambda: P.platform_get_resource(None, IORESOURCE_MEM, 0),
    "platform_get_resource_byname":
        lambda: P.platform_get_resource_byname(None, IORESOURCE_MEM, "regs"),
    "platform_get_mem_or_io": lambda: P.platform_get_mem_or_io(None, 0),
    "platform_get_irq": lambda: P.platform_get_irq(None, 0),
    "platform_get_irq_byname": lambda: P.platform_get_irq_byname(None, "tx"),
    "devm_platform_ioremap_resource": lambda: P.devm_platform_ioremap_resource(None, 0),
}


@pytest.mark.parametrize("call", list(DEREFERENCING.values()), ids=list(DEREFERENCING))
def test_a_null_device_oopses_where_the_kernel_dereferences_it(anyarch: Rig, call) -> None:
    k = anyarch.k
    with pytest.raises(KernelOops) as ei:
        call()
    head = X86_NULL if k.arch.is_x86 else ARM64_NULL
    assert str(ei.value).splitlines()[0] == head
    assert head in new_lines(k, 0) and "D" in k.tainted


def test_the_oops_trace_starts_at_the_kernel_function(rig: Rig) -> None:
    since = len(rig.k.log.records)
    with pytest.raises(KernelOops):
        dma.dma_alloc_coherent(None, 4096)
    lines = new_lines(rig.k, since)
    trace = lines[lines.index("Call trace:") + 1:]
    assert trace[0].startswith(" dma_alloc_coherent+0x")
    assert lines[1] == "Internal error: Oops: 0000000096000007 [#1] SMP"


def test_an_err_ptr_device_faults_at_its_value(rig: Rig) -> None:
    with pytest.raises(KernelOops, match="paging request at virtual address fffffffffffffff4"):
        dma.dma_alloc_coherent(ERR_PTR(-12), 4096)


@pytest.mark.parametrize("res", [None, DEFINE_RES_MEM(DEV_BASE, 0x100, "regs")])
def test_devm_ioremap_resource_of_null_hits_bug_on(anyarch: Rig, res) -> None:
    """lib/devres.c: BUG_ON(!dev) comes before the resource is looked at."""
    k = anyarch.k
    since = len(k.log.records)
    with pytest.raises(KernelOops) as ei:
        devres.devm_ioremap_resource(None, res)
    lines = new_lines(k, since)
    assert lines[0] == "------------[ cut here ]------------"
    assert lines[1].startswith("kernel BUG at lib/devres.c:") and lines[1].endswith("!")
    trap = ("invalid opcode: 0000 [#1] PREEMPT SMP NOPTI" if k.arch.is_x86 else
            "Internal error: Oops - BUG: 00000000f2000800 [#1] SMP")
    assert lines[2] == trap and str(ei.value) == f"{lines[1]}\n{trap}"
    assert not any("invalid resource" in ln for ln in lines)


def test_devm_ioremap_resource_of_no_resource_is_einval(rig: Rig) -> None:
    dev = D.Device("dummy")
    since = len(rig.k.log.records)
    assert devres.devm_ioremap_resource(dev, None) == ERR_PTR(-EINVAL)
    assert new_lines(rig.k, since) == ["dummy: invalid resource"]


def test_dev_printk_of_null_says_null_device(rig: Rig) -> None:
    since = len(rig.k.log.records)
    D.dev_err(None, "invalid resource %s\n", "(null)")
    D.dev_info(None, "hello")
    assert D.dev_err_probe(None, -EINVAL, "no clock\n") == -EINVAL
    assert new_lines(rig.k, since) == ["(NULL device *): invalid resource (null)",
                                       "(NULL device *): hello",
                                       "(NULL device *): error -EINVAL: no clock"]


def test_of_match_device_without_a_table_does_not_look_at_dev(rig: Rig) -> None:
    assert D.of_match_device([], None) is None  # if (!matches || ...) return NULL


def test_a_real_device_still_works(rig: Rig) -> None:
    dev = D.Device("dummy")
    dev.kernel = rig.k
    assert D.dev_name(dev) == "dummy"
    D.dev_set_drvdata(dev, 7)
    assert D.dev_get_drvdata(dev) == 7
    assert dma.dma_set_mask_and_coherent(dev, dma.DMA_BIT_MASK(32)) == 0
    buf, handle = dma.dma_alloc_coherent(dev, 4096)
    assert buf is not None and handle == buf.phys
    dma.dma_free_coherent(dev, 4096, buf, handle)
