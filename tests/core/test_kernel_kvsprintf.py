"""printk-style formatting: C conversions and the kernel's %p extensions."""

from iomem.kernel import ioport as F
from iomem.kernel.errno import ErrPtr
from iomem.kernel.resource import Resource
from iomem.kernel.vsprintf import kvsprintf


def test_pointer_extensions_and_c_conversions() -> None:
    r = Resource(0x9000000, 0x9000FFF, "uart", F.IORESOURCE_MEM)
    text = kvsprintf("%pR %pr at %pa: %pe/%pe, %d %u %i %08x %#x %lu %s %c %%",
                     (r, r, 0x9000000, -16, ErrPtr(-22), -5, 7, 3, 255, 16, 9, "ok", "z"))
    assert text == ("[mem 0x09000000-0x09000fff] [mem 0x09000000-0x09000fff flags 0x200] at "
                    "0x0000000009000000: -EBUSY/-EINVAL, -5 7 3 000000ff 0x10 9 ok z %")


def test_star_width_and_no_args() -> None:
    assert kvsprintf("[%*d]", (5, 42)) == "[   42]"
    assert kvsprintf("no conversions: 50%", ()) == "no conversions: 50%"
