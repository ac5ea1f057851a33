"""ioread64_lo_hi/iowrite64_hi_lo are built on ioread32/iowrite32, so they take port
cookies from ioport_map() as io-64-nonatomic-*.h's versions do."""

import iomem
from iomem.boards import Board, boot
from iomem.machine import Machine
from iomem.phys import IGNORE, Region


def test_split_64bit_io_accessors_work_on_ports() -> None:
    m = Machine("ports", arch="x86_64", bus_error_policy=IGNORE)
    m.io.add_region(Region("scratch", 0x100, 0x10))
    k = boot(Board("ports", m, "x86_64", lambda k: None))
    with k:
        c = iomem.ioport_map(0x100, 0x10)
        iomem.iowrite64_hi_lo(0x1122334455667788, c)
        assert iomem.ioread64_lo_hi(c) == 0x1122334455667788
        assert iomem.inl(0x104) == 0x11223344
