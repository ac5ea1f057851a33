"""The PCI driver model and the classic driver flow: match, probe, enable, regions,
mappings, managed release on remove."""

from __future__ import annotations

import re

from iomem.devices.pci import regs as R
from iomem.kernel import (
    IS_ERR,
    Kernel,
    devm_ioremap,
    devm_ioremap_resource,
    devm_request_mem_region,
    readl,
    writel,
)
from iomem.kernel import ioport as F
from iomem.kernel.errno import EBUSY, EEXIST, EINVAL, ENODEV, ENOMEM
from iomem.kernel.pci import (
    PCI_ANY_ID,
    PCI_DEVICE,
    PCI_DEVICE_CLASS,
    PCI_DEVICE_SUB,
    new_id_store,
    pci_dev,
    pci_device_id,
    pci_disable_device,
    pci_driver,
    pci_enable_device,
    pci_is_enabled,
    pci_match_id,
    pci_name,
    pci_read_config_byte,
    pci_read_config_word,
    pci_register_driver,
    pci_release_region,
    pci_release_regions,
    pci_request_region,
    pci_request_regions,
    pci_resource_end,
    pci_resource_flags,
    pci_resource_len,
    pci_resource_start,
    pci_set_master,
    pci_unregister_driver,
    pci_write_config_word,
    pcim_enable_device,
)
from iomem.kernel.pci_iomap import (
    pci_iomap,
    pci_iomap_range,
    pci_iomap_wc,
    pci_iounmap,
    pcim_iomap,
    pcim_iomap_regions,
    pcim_iomap_table,
)


def _log(k: Kernel) -> list[str]:
    return [re.sub(r"^\[[ 0-9.]+\] ", "", ln) for ln in k.dmesg().splitlines()]


class Recorder:
    """A pci_driver whose probe and remove record what happened."""

    def __init__(self, ids: list[pci_device_id], probe_ret: int = 0, name: str = "rec") -> None:
        self.seen: list[tuple[str, str]] = []
        self.probe_ret = probe_ret
        self.drv = pci_driver(name, ids, self.probe, self.remove)

    def probe(self, pdev: pci_dev, id: pci_device_id) -> int:
        self.seen.append(("probe", pci_name(pdev)))
        self.id = id
        return self.probe_ret

    def remove(self, pdev: pci_dev) -> None:
        self.seen.append(("remove", pci_name(pdev)))


# -- matching ------------------------------------------------------------------------

def test_an_id_table_binds_by_vendor_and_device(k: Kernel, pdev: pci_dev) -> None:
    rec = Recorder([PCI_DEVICE(0x1234, 0x11E8), pci_device_id()])
    assert pci_register_driver(rec.drv) == 0
    assert rec.seen == [("probe", "0000:00:04.0")]
    assert pdev.driver is rec.drv and pdev.dev.driver is rec.drv
    assert rec.id.vendor == 0x1234


def test_subsystem_and_class_entries_match_as_the_kernel_matches(pdev: pci_dev) -> None:
    assert pci_match_id([PCI_DEVICE_SUB(0x1234, 0x11E8, 0x1AF4, 0x1100)], pdev)
    assert not pci_match_id([PCI_DEVICE_SUB(0x1234, 0x11E8, 0x1AF4, 0x1101)], pdev)
    assert pci_match_id([PCI_DEVICE_CLASS(0x00FF00, 0xFFFF00)], pdev)
    assert not pci_match_id([PCI_DEVICE_CLASS(0x020000, 0xFFFF00)], pdev)
    assert pci_match_id([PCI_DEVICE(PCI_ANY_ID, 0x11E8)], pdev)
    # the all-zero entry ends the table: nothing after it matches
    assert not pci_match_id([pci_device_id(), PCI_DEVICE(0x1234, 0x11E8)], pdev)


def test_a_driver_with_other_ids_does_not_bind(k: Kernel, pdev: pci_dev) -> None:
    rec = Recorder([PCI_DEVICE(0x1234, 0x1111)])
    pci_register_driver(rec.drv)
    assert ("probe", "0000:00:04.0") not in rec.seen
    assert pdev.driver is None


def test_new_id_binds_a_driver_without_an_id_table_entry(k: Kernel, pdev: pci_dev) -> None:
    rec = Recorder([])
    pci_register_driver(rec.drv)
    assert rec.seen == []
    assert new_id_store(rec.drv, "1234 11e8") == 0
    assert rec.seen == [("probe", "0000:00:04.0")]
    assert new_id_store(rec.drv, "1234 11e8") == -EEXIST
    assert new_id_store(rec.drv, "12x4") == -EINVAL


def test_driver_override_decides_alone(k: Kernel, pdev: pci_dev) -> None:
    pdev.driver_override = "other"
    rec = Recorder([PCI_DEVICE(0x1234, 0x11E8)])
    pci_register_driver(rec.drv)
    assert pdev.driver is None
    pdev.driver_override = "rec"
    assert k.devices.bind("rec", "0000:00:04.0") == 0
    assert pdev.driver is rec.drv


def test_a_failing_probe_is_logged_and_leaves_nothing_behind(k: Kernel, pdev: pci_dev) -> None:
    before = k.proc_iomem()

    def probe(p: pci_dev, id: pci_device_id) -> int:
        pcim_enable_device(p)
        assert pci_request_region(p, 0, "bad") == 0
        return -ENOMEM
    drv = pci_driver("bad", [PCI_DEVICE(0x1234, 0x11E8)], probe)
    pci_register_driver(drv)
    assert "bad: probe of 0000:00:04.0 failed with error -12" in _log(k)
    assert pdev.driver is None
    assert k.proc_iomem() == before
    assert not pci_is_enabled(pdev)


def test_a_positive_probe_return_binds_with_a_warning(k: Kernel, pdev: pci_dev) -> None:
    rec = Recorder([PCI_DEVICE(0x1234, 0x11E8)], probe_ret=1)
    pci_register_driver(rec.drv)
    assert pdev.driver is rec.drv
    assert "rec 0000:00:04.0: Driver probe function unexpectedly returned 1" in _log(k)


def test_unregistering_removes_and_registering_twice_is_refused(k: Kernel) -> None:
    rec = Recorder([PCI_DEVICE(0x1234, 0x11E8)])
    pci_register_driver(rec.drv)
    assert pci_register_driver(pci_driver("rec", [])) == -EBUSY
    assert "Error: Driver 'rec' is already registered, aborting..." in _log(k)
    pci_unregister_driver(rec.drv)
    assert rec.seen == [("probe", "0000:00:04.0"), ("remove", "0000:00:04.0")]


# -- the classic flow ------------------------------------------------------------------------

def test_the_classic_flow_and_its_managed_undo(k: Kernel, pdev: pci_dev) -> None:
    got: dict[str, object] = {}

    def probe(p: pci_dev, id: pci_device_id) -> int:
        err = pci_enable_device(p)
        if err:
            return err
        start, length = pci_resource_start(p, 0), pci_resource_len(p, 0)
        if devm_request_mem_region(p.dev, start, length, "classic") is None:
            return -EBUSY
        base = devm_ioremap(p.dev, start, length)
        if base is None:
            return -ENOMEM
        writel(0x1234, base + 4)
        got["id"], got["live"] = readl(base), readl(base + 4)
        return 0

    def remove(p: pci_dev) -> None:
        pci_disable_device(p)
    drv = pci_driver("classic", [PCI_DEVICE(0x1234, 0x11E8)], probe, remove)
    pci_register_driver(drv)
    assert got == {"id": 0x010000ED, "live": ~0x1234 & 0xFFFFFFFF}
    assert "    fea00000-feafffff : classic\n" in k.proc_iomem()
    assert "pci_iomap_range" not in k.proc_vmallocinfo()
    assert "phys=0x00000000fea00000 ioremap" in k.proc_vmallocinfo()
    pci_unregister_driver(drv)
    assert "classic" not in k.proc_iomem()
    assert k.proc_vmallocinfo() == ""
    assert not pci_is_enabled(pdev)


def test_devm_ioremap_resource_on_a_bar(k: Kernel, pdev: pci_dev) -> None:
    def probe(p: pci_dev, id: pci_device_id) -> int:
        base = devm_ioremap_resource(p.dev, p.resource[0])
        if IS_ERR(base):
            return base.err
        return 0 if readl(base) == 0x010000ED else -ENODEV
    pci_register_driver(pci_driver("res", [PCI_DEVICE(0x1234, 0x11E8)], probe))
    assert pdev.driver is not None
    assert "    fea00000-feafffff : 0000:00:04.0 0000:00:04.0\n" in k.proc_iomem()


def test_resource_accessors(pdev: pci_dev) -> None:
    assert pci_resource_start(pdev, 0) == 0xFEA00000
    assert pci_resource_end(pdev, 0) == 0xFEAFFFFF
    assert pci_resource_len(pdev, 0) == 1 << 20
    assert pci_resource_flags(pdev, 0) == F.IORESOURCE_MEM | F.IORESOURCE_SIZEALIGN
    assert pci_resource_len(pdev, 1) == 0 and pci_resource_flags(pdev, 1) == 0


def test_enable_on_x86_prints_only_the_acpi_link_once(k: Kernel, pdev: pci_dev) -> None:
    """The firmware already turned decode on: no "enabling device"; the ACPI link of
    INTA at slot 4 (LNKD) is announced the first time, as on the real guest."""
    before = len(_log(k))
    assert pci_enable_device(pdev) == 0
    assert _log(k)[before:] == [r"ACPI: \_SB_.LNKD: Enabled at IRQ 11"]
    pci_disable_device(pdev)
    pci_enable_device(pdev)
    assert _log(k)[before:] == [r"ACPI: \_SB_.LNKD: Enabled at IRQ 11"]
    assert pdev.irq == 11


def test_enable_turns_decode_on_when_it_was_off(k: Kernel, pdev: pci_dev) -> None:
    pci_write_config_word(pdev, R.PCI_COMMAND, 0)
    pci_enable_device(pdev)
    assert "pci 0000:00:04.0: enabling device (0000 -> 0002)" in _log(k)
    assert pci_read_config_word(pdev, R.PCI_COMMAND) == (0, 0x0002)


def test_enable_counts_and_disable_drops_bus_mastering_only(pdev: pci_dev, k: Kernel) -> None:
    pci_enable_device(pdev)
    pci_enable_device(pdev)
    pci_set_master(pdev)
    assert pci_read_config_word(pdev, R.PCI_COMMAND)[1] & R.PCI_COMMAND_MASTER
    pci_disable_device(pdev)
    assert pci_is_enabled(pdev)
    pci_disable_device(pdev)
    assert not pci_is_enabled(pdev)
    assert pci_read_config_word(pdev, R.PCI_COMMAND) == (0, 0x0103)  # decode stays on
    pci_disable_device(pdev)
    assert "disabling already-disabled device" in k.dmesg()


def test_set_master_leaves_qemus_read_only_latency_timer(pdev: pci_dev) -> None:
    pci_set_master(pdev)
    assert pci_read_config_byte(pdev, R.PCI_LATENCY_TIMER) == (0, 0)
    assert pdev.is_busmaster


def test_region_conflicts_print_the_kernels_warning(k: Kernel, pdev: pci_dev) -> None:
    assert k.request_mem_region(0xFEA00000, 0x1000, "squatter") is not None
    assert pci_request_region(pdev, 0, "edu") == -EBUSY
    assert "pci 0000:00:04.0: BAR 0: can't reserve [mem 0xfea00000-0xfeafffff]" in _log(k)


def test_request_regions_claims_every_bar_named_after_the_driver(
        k: Kernel, pdev: pci_dev) -> None:
    assert pci_request_regions(pdev, "edu") == 0
    assert "    fea00000-feafffff : edu\n" in k.proc_iomem()
    assert pci_request_regions(pdev, "again") == -EBUSY
    pci_release_regions(pdev)
    assert "edu" not in k.proc_iomem().split("0000:00:04.0")[1].split("\n")[1]
    pci_release_region(pdev, 0)  # twice: the kernel's complaint
    assert "Trying to free nonexistent resource <00000000fea00000-00000000feafffff>" \
        in k.dmesg()


# -- mappings ------------------------------------------------------------------------------

def test_pci_iomap_range_and_maxlen(k: Kernel, pdev: pci_dev) -> None:
    base = pci_iomap(pdev, 0, 0)
    assert readl(base) == 0x010000ED
    assert base.area.req_size == 1 << 20
    short = pci_iomap(pdev, 0, 0x100)
    assert short.area.req_size == 0x100
    off = pci_iomap_range(pdev, 0, 0x20, 0x10)
    assert off.phys == 0xFEA00020
    assert pci_iomap_range(pdev, 0, 1 << 20, 0) is None  # offset past the BAR
    assert pci_iomap(pdev, 2, 0) is None  # no such BAR
    line = k.proc_vmallocinfo().splitlines()[0]
    assert re.fullmatch(r"0xffffc9000\w+-0x\w+ +1052672 pci_iomap_range\+0x\w+/0x\w+ "
                        r"phys=0x00000000fea00000 ioremap", line)
    for c in (base, short, off):
        pci_iounmap(pdev, c)
    assert k.proc_vmallocinfo() == ""


def test_pci_iomap_wc_maps_write_combining(k: Kernel, pdev: pci_dev) -> None:
    base = pci_iomap_wc(pdev, 0, 0x1000)
    assert k.pte(base).memtype == "WC"
    assert k.pte(pci_iomap(pdev, 0, 0x1000) + 0x1000 - 4) is not None


def test_pci_iomap_of_an_io_bar_gives_a_port_cookie(k: Kernel) -> None:
    from iomem.kernel import ioread32, iowrite32
    from iomem.kernel.pci import pci_core

    ide = pci_core(k).find("00:01.1")
    c = pci_iomap(ide, 4, 0)
    assert c.area.pio and c.phys == pci_resource_start(ide, 4)
    iowrite32(0, c)
    assert ioread32(c) == 0


def test_pcim_iomap_regions_and_the_table(k: Kernel, pdev: pci_dev) -> None:
    table: list = []

    def probe(p: pci_dev, id: pci_device_id) -> int:
        if pcim_enable_device(p):
            return -ENODEV
        rc = pcim_iomap_regions(p, 1 << 0, "pcim")
        if rc:
            return rc
        table.extend(pcim_iomap_table(p))
        assert pcim_iomap(p, 0, 0) is None  # a second mapping of BAR 0 is refused
        return 0
    drv = pci_driver("pcim", [PCI_DEVICE(0x1234, 0x11E8)], probe)
    pci_register_driver(drv)
    assert readl(table[0]) == 0x010000ED and table[1:] == [None] * 5
    assert "    fea00000-feafffff : pcim\n" in k.proc_iomem()
    pci_unregister_driver(drv)
    assert "pcim" not in k.proc_iomem() and k.proc_vmallocinfo() == ""
    assert not pci_is_enabled(pdev)


def test_pcim_iomap_regions_reports_a_bar_without_length(k: Kernel, pdev: pci_dev) -> None:
    rc: list[int] = []

    def probe(p: pci_dev, id: pci_device_id) -> int:
        pcim_enable_device(p)
        rc.append(pcim_iomap_regions(p, 0b11, "pcim"))
        return 0
    pci_register_driver(pci_driver("pcim2", [PCI_DEVICE(0x1234, 0x11E8)], probe))
    assert rc == [-EINVAL]
    assert "pcim" not in k.proc_iomem()  # BAR 0 was released again
