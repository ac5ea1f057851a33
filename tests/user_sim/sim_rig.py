"""What the userspace-side tests share: the pc board's edu and the no-IOMMU VFIO option."""

from __future__ import annotations

from iomem.kernel import Kernel
from iomem.kernel.pci import pci_core, pci_dev

EDU_BAR0 = 0xFEA00000
NOIOMMU = "vfio.enable_unsafe_noiommu_mode=1"


def edu_pdev(k: Kernel) -> pci_dev:
    d = pci_core(k).find("0000:00:04.0")
    assert d is not None
    return d
