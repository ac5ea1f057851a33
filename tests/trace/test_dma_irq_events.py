"""Device DMA and interrupts (MSI included) appear on a recording of the edu driver."""

import iomem
from iomem import trace
from iomem.drivers import edu
from iomem.kernel.pci import pci_core


def test_edu_dma_and_msi_are_recorded() -> None:
    k = iomem.boot("pc")
    with k, trace.record() as rec:
        drv = edu.edu_init()
        dev = edu.edu_get(pci_core(k).find("0000:00:04.0"))
        assert dev is not None
        assert edu.edu_factorial_irq(dev, 5) == 120
        assert edu.edu_dma_to_device(dev, b"hello") == 0
        edu.edu_exit(drv)
    kinds = [e.kind for e in rec.events() if hasattr(e, "kind")]
    assert "irq" in kinds
    dma = [e for e in rec.events() if getattr(e, "kind", "") == "dma" and "op" in e.fields]
    assert dma and dma[0].fields["op"] == "read" and dma[0].fields["len"] == 5
    assert dma[0].fields["device"] == "0000:00:04.0"


def test_recording_into_a_missing_directory_is_one_clear_error(tmp_path) -> None:
    import pytest

    target = tmp_path / "nosuch" / "t.txt"
    with pytest.raises(FileNotFoundError, match="does not exist"), trace.record(target):
        pass
    assert not (tmp_path / "nosuch").exists()
