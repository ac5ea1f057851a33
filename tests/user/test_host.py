"""The host backends and discovery against fake sysfs/procfs/dev trees."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import pytest

from iomem.host import diagnose, dt, pci, procfs, uio, vfio
from iomem.host.devmem import DevMemBackend, map_devmem
from iomem.user import (
    Backend,
    DeviceNotFoundError,
    MapError,
    MmioAccessError,
    MmioReadOnlyError,
    OwnershipError,
    open_target,
)

from .fakehost import IOMEM, FakeHost, standard


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    return standard(tmp_path)


# -- /proc/iomem -----------------------------------------------------------------------


def test_iomem_tree_and_owners() -> None:
    tree = procfs.parse_iomem(IOMEM)
    names = [e.name for e in tree.walk()]
    assert names[:3] == ["Reserved", "System RAM", "Reserved"]
    (edu,) = tree.find("0000:00:04.0")
    assert (edu.start, edu.end, edu.depth, edu.parent.name) == (0xFEA00000, 0xFEAFFFFF, 1,
                                                                "PCI Bus 0000:00")
    assert edu.kind == "container" and edu.parent.kind == "container"
    assert [e.name for e in tree.owners(0xFE000000, 0xFE000FFF)] == ["virtio-pci-modern"]
    assert tree.owners(0xFEA00000, 0xFEA00FFF) == []
    assert [e.name for e in tree.overlapping(0x100000000, 0x100000000)] == ["PCI Bus 0000:00"]
    assert str(edu) == "fea00000-feafffff : 0000:00:04.0"
    assert [e.name for e in edu.path()] == ["PCI Bus 0000:00", "0000:00:04.0"]


def test_write_refusals_say_who_holds_what() -> None:
    tree = procfs.parse_iomem(IOMEM)
    assert procfs.write_refusal(tree, 0xFEA00000, 0xFEA00FFF) is None
    why = procfs.write_refusal(tree, 0xFE000010, 0xFE000013)
    assert "held by 'virtio-pci-modern' (fe000000-fe003fff, under 0000:00:05.0)" in why
    assert "RAM the kernel uses" in procfs.write_refusal(tree, 0x10000000, 0x10000003)
    assert "firmware reserved" in procfs.write_refusal(tree, 0x0, 0x3)
    assert "'PNP0103:00'" in procfs.write_refusal(tree, 0xFED00000, 0xFED00003)
    nested = procfs.parse_iomem("fe000000-fe003fff : 0000:00:05.0\n"
                                "  fe000000-fe003fff : 0000:00:05.0\n")
    assert [e.kind for e in nested.walk()] == ["container", "claim"]  # pci_request_regions


def test_unprivileged_iomem_is_detected_and_explained() -> None:
    zeroed = "".join(line.split(":")[0][:0] + f"{' ' * (len(line) - len(line.lstrip()))}"
                     f"00000000-00000000 : {line.split(' : ', 1)[1]}\n"
                     for line in IOMEM.splitlines())
    with pytest.raises(procfs.IomemUnavailable, match="CAP_SYS_ADMIN; run as root"):
        procfs.parse_iomem(zeroed)
    with pytest.raises(PermissionError):
        procfs.parse_iomem(zeroed)


def test_malformed_iomem_line() -> None:
    with pytest.raises(ValueError, match=r"/proc/iomem:2: not a resource line"):
        procfs.parse_iomem("00000000-00000fff : Reserved\nbogus\n")


# -- PCI sysfs -------------------------------------------------------------------------------


def test_pci_discovery(host: FakeHost) -> None:
    root = host.root
    assert [d.bdf for d in pci.pci_devices(root)] == ["0000:00:03.0", "0000:00:04.0",
                                                      "0000:00:05.0", "0000:00:07.0"]
    for spec in ("0000:00:04.0", "00:04.0", "1234:11e8", "1234:11E8#0"):
        assert pci.find_pci(spec, root).bdf == "0000:00:04.0"
    with pytest.raises(DeviceNotFoundError, match="no PCI function 1234:11e8 #1"):
        pci.find_pci("1234:11e8#1", root)
    with pytest.raises(DeviceNotFoundError, match="no PCI function 0000:00:09.0"):
        pci.find_pci("00:09.0", root)
    with pytest.raises(ValueError, match="not a PCI address or vendor:device"):
        pci.find_pci("edu", root)
    dev = pci.find_pci("1234:11e8", root)
    assert (dev.vendor, dev.device, dev.class_code, dev.revision, dev.irq) == (
        0x1234, 0x11E8, 0xFF00, 0x10, 11)
    assert dev.driver is None and pci.find_pci("00:05.0", root).driver == "virtio-pci"
    assert dev.resource(0).describe() == "Memory at fea00000 (32-bit, non-prefetchable) [size=1M]"
    assert pci.find_pci("00:07.0", root).resource(2).describe() == \
        "Memory at feb80000 (64-bit, prefetchable) [size=64K]"
    assert pci.find_pci("00:03.0", root).resource(1).describe() == "I/O ports at c000 [size=64]"
    assert [r.index for r in pci.find_pci("00:03.0", root).bars()] == [0, 1]
    with pytest.raises(DeviceNotFoundError, match="no BAR6"):
        dev.resource(6)
    assert "1234:11e8" in repr(dev)


def test_map_bar_reads_and_writes_the_bar(host: FakeHost) -> None:
    with pci.map_bar("1234:11e8", 0, root=host.root) as m:
        assert m.readl(0) == 0x010000ED
        m.writel(0x12345678, 4)
        assert m.phys == 0xFEA00000 and m.size == 1 << 20
        assert m.describe() == ("0000:00:04.0 BAR0, [mem 0xfea00000-0xfeafffff], "
                                "0x100000 bytes, memtype UC")
    res0 = host.pci_dir / "0000:00:04.0/resource0"
    assert host.peek(res0, 4, 4) == (0x12345678).to_bytes(4, "little")
    with pci.map_bar("1234:11e8", 0, offset=0x1004, size=8, root=host.root) as m:
        assert m.phys == 0xFEA01004 and m.readl(0) == 0
        with pytest.raises(MmioAccessError):
            m.readl(8)


def test_pci_backend_is_a_backend(host: FakeHost) -> None:
    b = pci.PciBarBackend("00:04.0", 0, root=host.root)
    assert isinstance(b, Backend)
    b.open()
    assert b.describe() == ("PCI 0000:00:04.0 BAR0: Memory at fea00000 (32-bit, "
                            "non-prefetchable) [size=1M]")
    with pytest.raises(MapError, match="do not fit"):
        b.map(0xFFFFC, 8)
    b.close()


def test_a_bar_a_driver_holds_is_not_mapped_for_writing(host: FakeHost) -> None:
    with pytest.raises(OwnershipError, match="held by 'virtio-pci-modern'") as e:
        pci.map_bar("00:05.0", 4, root=host.root)
    assert e.value.errno == errno.EBUSY
    with pci.map_bar("00:05.0", 4, write=False, root=host.root) as m:
        assert m.readl(0) == 0
        assert "owner virtio-pci-modern" in m.describe()
        with pytest.raises(MmioReadOnlyError, match="opened with write=False"):
            m.writel(1, 0)
    with pci.map_bar("00:05.0", 4, force=True, root=host.root) as m:
        m.writel(1, 0)


def test_memory_decode_off_is_refused_or_enabled(host: FakeHost) -> None:
    d = host.add_pci("0000:00:08.0", 0x1234, 0x11E8, {0: (0xFE800000, 0x1000, 0x40200)},
                     command=0x0100)
    with pytest.raises(MapError, match=r"memory decode off \(bit 1 of the PCI command "
                                       r"register is 0\).*echo 1 > .*/enable"):
        pci.map_bar("00:08.0", 0, root=host.root)
    with pci.map_bar("00:08.0", 0, enable=True, root=host.root) as m:
        assert (d / "enable").read_text() == "1"
        m.readl(0)
    assert (d / "enable").read_text() == "0"  # turned off again: it was off before


def test_write_combining_only_for_prefetchable_bars(host: FakeHost) -> None:
    with pytest.raises(MapError, match="BAR0 is not prefetchable.*only for prefetchable BARs"):
        pci.map_bar("1234:11e8", 0, wc=True, root=host.root)
    with pci.map_bar("00:07.0", 2, wc=True, root=host.root) as m:
        assert m.info["memtype"] == "WC" and m.info["path"].endswith("resource2_wc")
        np = pytest.importorskip("numpy")
        arr = m.array(np.uint64)
        arr[:] = 7
        assert m.readq(0x100) == 7


def test_io_bars_go_through_read_and_write(host: FakeHost) -> None:
    with pci.map_bar("8086:100e", 1, root=host.root) as m:
        m.writel(0xAABBCCDD, 0)
        m.writeb(0x11, 4)
        assert m.readl(0) == 0xAABBCCDD and m.readw(4) == 0x0011
        assert m.describe().startswith("0000:00:03.0 BAR1, [io  0xc000-0xc03f], 0x40 bytes")
        with pytest.raises(MmioAccessError, match="I/O ports are 8, 16 and 32 bits wide"):
            m.readq(0)
    assert host.peek(host.pci_dir / "0000:00:03.0/resource1", 0, 5) == bytes.fromhex(
        "ddccbbaa11")


def test_missing_bar_files_are_explained(host: FakeHost) -> None:
    os.unlink(host.pci_dir / "0000:00:04.0/resource0")
    with pytest.raises(MapError, match="sysfs has no resource0"):
        pci.map_bar("1234:11e8", 0, root=host.root)


def test_config_space(host: FakeHost) -> None:
    dev = pci.find_pci("1234:11e8", host.root)
    with dev.config() as cfg:
        assert cfg.readw(0) == 0x1234 and cfg.readl(0) == 0x11E81234 and cfg.readb(8) == 0x10
        with pytest.raises(MmioReadOnlyError, match="write=True"):
            cfg.writew(0, 4)
        with pytest.raises(MmioAccessError, match="8, 16 and 32 bits"):
            cfg.readq(0)
    assert dev.command == 0x0103 and dev.memory_decode
    dev.config_write(pci.PCI_COMMAND, 2, 0x0503)
    dev.intx_unmask()
    assert dev.command == 0x0103
    with pytest.raises(ValueError, match="not 2-byte aligned"):
        dev.config_read(3, 2)
    with dev.config(write=True) as cfg:
        cfg.writeb(0x40, 0x3C)
    assert dev.config_read(0x3C, 1) == 0x40


def test_binding_reports_a_driver_that_did_not_take_the_device(host: FakeHost) -> None:
    dev = pci.find_pci("00:04.0", host.root)
    with pytest.raises(MapError, match="binding 0000:00:04.0 to vfio-pci failed: the driver "
                                       "did not take"):
        dev.bind("vfio-pci")
    assert (dev.path / "driver_override").read_text() == "vfio-pci"
    assert (host.root / "sys/bus/pci/drivers_probe").read_text() == "0000:00:04.0"


def test_bind_through_new_id(host: FakeHost) -> None:
    dev = pci.find_pci("00:04.0", host.root)
    with pytest.raises(MapError, match="there is no PCI driver uio_pci_generic .modprobe"):
        dev.bind_new_id("uio_pci_generic")
    drv = host.root / "sys/bus/pci/drivers/uio_pci_generic"
    drv.mkdir()
    (drv / "new_id").write_text("")
    with pytest.raises(MapError, match="did not bind 0000:00:04.0 within 0.05 s"):
        dev.bind_new_id("uio_pci_generic", timeout=0.05)
    assert (drv / "new_id").read_text() == "1234 11e8"


# -- UIO ---------------------------------------------------------------------------------------


def test_uio_maps_and_interrupt(host: FakeHost) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    host.add_uio("uio0", "my_uio", [("regs", 0x10000000, 0x100, 0), ("fifo", 0x10001010, 0x20,
                                                                      0x10)], event=5)
    dev = uio.find_uio("my_uio", host.root)
    assert (dev.id, dev.name, dev.version, dev.event) == ("uio0", "my_uio", "0.01.0", 5)
    assert [(m.name, m.addr, m.size, m.offset) for m in dev.maps()] == [
        ("regs", 0x10000000, 0x100, 0), ("fifo", 0x10001010, 0x20, 0x10)]
    node = host.root / "dev/uio0"
    host.poke(node, page + 0x10, (0xFEEDF00D).to_bytes(4, "little"))
    with uio.map_uio("uio0", 1, root=host.root, irq=False) as m:
        assert m.phys == 0x10001010 and m.size == 0x20
        assert m.readl(0) == 0xFEEDF00D  # map1 is at file offset one page, 0x10 into it
    with uio.map_uio("my_uio", root=host.root) as m:
        m.writel(5, 0)
        irq = m.irq
        assert isinstance(irq, uio.UioIrq)
        irq.enable()  # a write of 1: a regular file takes it
        os.lseek(irq.fileno(), 0, os.SEEK_SET)
        assert irq.wait(0.5) == 1
    with pytest.raises(DeviceNotFoundError, match="there is no map2"):
        uio.map_uio("uio0", 2, root=host.root)
    with pytest.raises(DeviceNotFoundError, match=r"no UIO device 'other'; there are: uio0 "
                                                  r"\(my_uio\)"):
        uio.find_uio("other", host.root)


def test_uio_pci_device_without_maps_uses_the_bar(host: FakeHost) -> None:
    host.add_uio("uio3", "uio_pci_generic", [], pci="0000:00:04.0")
    dev = uio.find_uio("0000:00:04.0", host.root)
    assert dev.pci is not None and dev.pci.bdf == "0000:00:04.0"
    b = uio.UioBackend(dev, 0, root=host.root)
    b.open()
    assert b.describe().startswith("UIO uio3 (uio_pci_generic) via PCI 0000:00:04.0 BAR0")
    with open_target("uio:uio_pci_generic", root=host.root) as m:
        assert m.readl(0) == 0x010000ED


def test_no_uio_at_all(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFoundError, match="modprobe uio_pci_generic"):
        uio.find_uio("uio0", tmp_path)


# -- /dev/mem --------------------------------------------------------------------------------


def test_devmem_maps_pages_around_an_unaligned_range(host: FakeHost) -> None:
    mem = host.add_devmem()
    host.poke(mem, 0xFEA00010, (0x010000ED).to_bytes(4, "little"))
    with map_devmem(0xFEA00010, 8, root=host.root) as m:
        assert m.readl(0) == 0x010000ED and m.phys == 0xFEA00010
        m.writel(0xCAFE, 4)
        with pytest.raises(MmioAccessError, match="outside"):
            m.readl(8)
    assert host.peek(mem, 0xFEA00014, 4) == (0xCAFE).to_bytes(4, "little")


def test_devmem_refuses_writes_to_owned_ranges(host: FakeHost) -> None:
    host.add_devmem()
    with pytest.raises(OwnershipError, match="held by 'virtio-pci-modern'"):
        map_devmem(0xFE000000, 0x1000, root=host.root)
    with map_devmem(0xFE000000, 0x1000, write=False, root=host.root) as m:
        assert m.info["owner"] == "virtio-pci-modern"
    with pytest.raises(OwnershipError, match="RAM the kernel uses"):
        map_devmem(0x10000000, 4, root=host.root)
    with map_devmem(0xFE000000, 4, force=True, root=host.root) as m:
        m.writel(1, 0)


def test_devmem_argument_checks(host: FakeHost) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        DevMemBackend(-1, 4)
    with pytest.raises(ValueError, match="positive"):
        DevMemBackend(0, 0)
    with pytest.raises(MapError, match="it does not exist"):
        map_devmem(0xFEA00000, 4, root=host.root)  # no dev/mem in this tree yet


def test_other_memory_devices_skip_the_physical_checks(host: FakeHost) -> None:
    gpiomem = host.root / "dev/gpiomem"
    gpiomem.write_bytes(bytes(4096))
    with map_devmem(0x0, 4096, path="/dev/gpiomem", root=host.root) as m:
        m.writel(3, 0)
        assert "memtype" not in m.info


# -- device tree ------------------------------------------------------------------------------


def _dt(root: Path) -> Path:
    base = root / "proc/device-tree"

    def node(path: str, **props: bytes) -> None:
        d = base / path.strip("/") if path != "/" else base
        d.mkdir(parents=True, exist_ok=True)
        for k, v in props.items():
            (d / k.replace("_", "-").replace("--", "#")).write_bytes(v)

    def cells(*c: int) -> bytes:
        return b"".join(struct.pack(">I", x) for x in c)

    node("/", **{"__address-cells": cells(2), "__size-cells": cells(2),
                 "compatible": b"linux,dummy-virt\0"})
    node("/pl011@9000000", compatible=b"arm,pl011\0arm,primecell\0",
         reg=cells(0, 0x09000000, 0, 0x1000))
    node("/soc", **{"__address-cells": cells(1), "__size-cells": cells(1),
                    "ranges": cells(0x0, 0, 0x40000000, 0x100000)})
    node("/soc/uart@2000", compatible=b"ns16550a\0", reg=cells(0x2000, 0x100))
    node("/soc/uart@3000", compatible=b"ns16550a\0", reg=cells(0x3000, 0x100),
         status=b"disabled\0")
    node("/soc/i2c@4000", **{"compatible": b"vendor,i2c\0", "reg": cells(0x4000, 0x100),
                             "__address-cells": cells(1), "__size-cells": cells(0)})
    node("/soc/i2c@4000/rtc@68", compatible=b"nxp,pcf8563\0", reg=cells(0x68))
    return base


def test_device_tree_nodes_by_compatible(tmp_path: Path) -> None:
    _dt(tmp_path)
    (pl011,) = dt.find_compatible("arm,primecell", tmp_path)
    assert pl011.path == "/pl011@9000000" and pl011.compatible == ["arm,pl011", "arm,primecell"]
    assert pl011.resources() == [dt.DtResource(0x09000000, 0x1000)]
    (uart,) = dt.find_compatible("ns16550a", tmp_path)
    assert uart.reg() == [(0x2000, 0x100)]
    assert uart.resources()[0].start == 0x40002000 and uart.resources()[0].end == 0x400020FF
    assert len(dt.find_compatible("ns16550a", tmp_path, enabled_only=False)) == 2
    (rtc,) = dt.find_compatible("nxp,pcf8563", tmp_path)
    assert rtc.reg() == [(0x68, 0)] and rtc.resources() == []  # i2c is not memory-mapped
    assert [n.path for n in dt.dt_nodes(tmp_path)][:2] == ["/", "/pl011@9000000"]


def test_device_tree_node_maps_through_devmem(tmp_path: Path) -> None:
    _dt(tmp_path)
    h = FakeHost.__new__(FakeHost)
    h.root = tmp_path
    (tmp_path / "dev").mkdir()
    (tmp_path / "proc/iomem").write_text("09000000-09000fff : 9000000.pl011\n"
                                         "  09000000-09000fff : 9000000.pl011 pl011@9000000\n"
                                         "09010000-09010fff : 9010000.pl031\n")
    FakeHost.add_devmem(h, 0x09011000)
    (pl011,) = dt.find_compatible("arm,pl011", tmp_path)
    with pl011.map(write=False) as m:
        assert m.phys == 0x09000000 and m.size == 0x1000
    with pytest.raises(OwnershipError, match="held by '9000000.pl011 pl011@9000000'"):
        pl011.map()
    with map_devmem(0x09010000, 4, root=tmp_path) as m:  # a device no driver took
        m.writel(1, 0)
    with pytest.raises(DeviceNotFoundError, match="no #1"):
        pl011.map(1)


def test_no_device_tree(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFoundError, match="no device tree"):
        dt.find_compatible("x", tmp_path)


# -- diagnosis --------------------------------------------------------------------------------


def test_lockdown_cmdline_and_config(tmp_path: Path) -> None:
    assert diagnose.lockdown_mode(tmp_path) is None
    lock = tmp_path / "sys/kernel/security/lockdown"
    lock.parent.mkdir(parents=True)
    lock.write_text("none [integrity] confidentiality\n")
    assert diagnose.lockdown_mode(tmp_path) == "integrity"
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cmdline").write_text("quiet iomem=relaxed\n")
    assert diagnose.iomem_policy(tmp_path) == "relaxed"
    (tmp_path / "proc/cmdline").write_text("iomem=relaxed iomem=strict\n")
    assert diagnose.iomem_policy(tmp_path) == "strict"
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / f"config-{os.uname().release}").write_text(
        "CONFIG_STRICT_DEVMEM=y\n# CONFIG_IO_STRICT_DEVMEM is not set\n")
    assert diagnose.kernel_config("CONFIG_STRICT_DEVMEM", tmp_path) == "y"
    assert diagnose.kernel_config("CONFIG_IO_STRICT_DEVMEM", tmp_path) == "n"
    assert diagnose.kernel_config("CONFIG_DEVMEM", tmp_path) is None


def test_devmem_refusals_are_explained(host: FakeHost) -> None:
    eperm = OSError(errno.EPERM, "Operation not permitted")
    held = diagnose.explain_devmem(eperm, 0xFE000000, 0xFE000FFF, root=host.root)
    assert "held by 'virtio-pci-modern'" in held and "boot with iomem=relaxed" in held
    ram = diagnose.explain_devmem(eperm, 0x2000000, 0x2000FFF, root=host.root)
    assert "System RAM" in ram and "iomem=relaxed or not" in ram
    free = diagnose.explain_devmem(eperm, 0xFEA00000, 0xFEA00FFF, root=host.root)
    assert "CONFIG_STRICT_DEVMEM allows only ranges no driver holds" in free
    (host.root / "proc/cmdline").write_text("iomem=relaxed\n")
    excl = diagnose.explain_devmem(eperm, 0xFE000000, 0xFE000FFF, root=host.root)
    assert "IORESOURCE_EXCLUSIVE" in excl
    assert "PAT" in diagnose.explain_devmem(OSError(errno.EINVAL, "x"), 0, 1, root=host.root)


def test_permission_and_lockdown_on_open(host: FakeHost, monkeypatch: pytest.MonkeyPatch) -> None:
    eacces = OSError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    msg = diagnose.explain_devmem(eacces, 0, 1, stage="open", root=host.root)
    assert msg == "cannot open /dev/mem: permission denied; /dev/mem needs root (CAP_SYS_RAWIO)"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    lock = host.root / "sys/kernel/security/lockdown"
    lock.parent.mkdir(parents=True)
    lock.write_text("none integrity [confidentiality]\n")
    msg = diagnose.explain_devmem(OSError(errno.EPERM, "x"), 0, 1, stage="open", root=host.root)
    assert "locked down (confidentiality" in msg
    dev = pci.find_pci("1234:11e8", host.root)
    msg = diagnose.explain_pci_mmap(OSError(errno.EPERM, "x"), dev, 0, root=host.root)
    assert "LOCKDOWN_PCI_ACCESS" in msg


def test_pci_einval_for_a_held_bar_is_explained(host: FakeHost) -> None:
    dev = pci.find_pci("00:05.0", host.root)
    msg = diagnose.explain_pci_mmap(OSError(errno.EINVAL, "x"), dev, 4, root=host.root)
    assert "(EINVAL): the range is held by 'virtio-pci-modern'" in msg
    assert "CONFIG_IO_STRICT_DEVMEM" in msg and "iomem=relaxed" in msg


# -- VFIO ---------------------------------------------------------------------------------------


def test_vfio_ioctl_numbers_are_the_uapi_ones() -> None:
    assert vfio.VFIO_GET_API_VERSION == 0x3B64
    assert vfio.VFIO_GROUP_GET_DEVICE_FD == 0x3B6A
    assert vfio.VFIO_DEVICE_GET_REGION_INFO == 0x3B6C
    assert vfio.VFIO_DEVICE_SET_IRQS == 0x3B6E
    assert vfio.VFIO_DEVICE_RESET == 0x3B6F
    assert vfio._REGION_INFO.size == 32


@pytest.mark.parametrize(("release", "splits"), [("6.1.0-56-amd64", True), ("6.9.12", True),
                                                 ("6.10.0", False), ("6.12.8-arch1", False)])
def test_vfio_8_byte_read_write_since_6_10(release: str, splits: bool) -> None:
    assert vfio.kernel_splits_8byte_rw(release) is splits


def test_vfio_refusals_before_any_ioctl(host: FakeHost) -> None:
    with pytest.raises(MapError, match="bound to no driver, not vfio-pci; bind it first"):
        vfio.VfioDevice("1234:11e8", root=host.root)
    host.add_pci("0000:00:09.0", 0x1234, 0x11E8, {0: (0xFE900000, 0x1000, 0x40200)},
                 driver="vfio-pci")
    with pytest.raises(MapError, match="no IOMMU group.*intel_iommu=on"):
        vfio.VfioDevice("00:09.0", root=host.root)
    host.add_pci("0000:00:0a.0", 0x1234, 0x11E8, {0: (0xFE910000, 0x1000, 0x40200)},
                 driver="vfio-pci", iommu_group=7)
    with pytest.raises(MapError, match="cannot open .*dev/vfio/vfio: it does not exist"):
        vfio.VfioDevice("00:0a.0", root=host.root)


# -- targets --------------------------------------------------------------------------------------


def test_open_target_strings(host: FakeHost) -> None:
    host.add_devmem()
    with open_target("pci:1234:11e8/0", root=host.root) as m:
        assert m.readl(0) == 0x010000ED
    with open_target("devmem:0xfea00000+4k", root=host.root) as m:
        assert m.size == 4096
    with pytest.raises(ValueError, match="not a mapping target: 'edu'"):
        open_target("edu")
    with pytest.raises(ValueError, match="BAR index must be a number"):
        open_target("pci:1234:11e8/x", root=host.root)
    with pytest.raises(ValueError, match="not a size"):
        open_target("devmem:zz", root=host.root)


def _export(node: object, where: Path) -> None:
    """Write an unflattened tree as the kernel's /proc/device-tree shows it."""
    where.mkdir(parents=True, exist_ok=True)
    for name, value in node.properties.items():  # type: ignore[attr-defined]
        (where / name).write_bytes(value)
    for child in node.children:  # type: ignore[attr-defined]
        _export(child, where / child.full_name)


def test_device_tree_of_qemu_virt_agrees_with_the_of_core(tmp_path: Path) -> None:
    """QEMU's arm64 virt DTB laid out as /proc/device-tree: every node's ranges come
    out as the simulated kernel's of_address_to_resource computes them."""
    from iomem.of.address import of_resources
    from iomem.of.fdt import load_builtin

    tree = load_builtin("virt")
    _export(tree.root, tmp_path / "proc/device-tree")
    (pl011,) = dt.find_compatible("arm,pl011", tmp_path)
    assert pl011.resources() == [dt.DtResource(0x09000000, 0x1000)]
    (rtc,) = dt.find_compatible("arm,pl031", tmp_path)
    assert rtc.resources()[0].start == 0x09010000
    by_path = {n.path: n for n in dt.dt_nodes(tmp_path)}
    checked = 0
    stack = [tree.root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        want = [(r.start, r.size) for r in of_resources(node)]
        if want:
            got = [(r.start, r.size) for r in by_path[node.path].resources()]
            assert got[:len(want)] == want, node.path
            checked += 1
    assert checked >= 10
