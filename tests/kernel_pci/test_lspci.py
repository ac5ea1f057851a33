"""lspci over the simulated kernel, against the real guest's captured lspci output and
against the real pciutils lspci run on the simulated sysfs tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pci_rig import pc

from iomem.kernel import Kernel
from iomem.kernel.irq import IRQ_NONE, IRQF_SHARED, proc_interrupts, request_irq
from iomem.kernel.pci import (
    pci_dev,
    pci_device_id,
    pci_driver,
    pci_enable_device,
    pci_register_driver,
)
from iomem.kernel.pci_sysfs import device_attributes, modalias, write_sysfs_tree
from iomem.pci.ids import load_ids
from iomem.pci.lspci import devices_from_sysfs, lspci, parse_args, parse_slot_filter

VM_DATA = Path(__file__).parents[1] / "vm" / "data"
DATA = Path(__file__).parent / "data"

needs_ids = pytest.mark.skipif(not load_ids().vendors,
                               reason="no pci.ids (apt-get install pci.ids)")


def _blocks(text: str) -> dict[str, str]:
    return {b.split(" ", 1)[0]: b for b in text.strip("\n").split("\n\n")}


@needs_ids
def test_edu_lspci_vvv_is_the_real_guests(k: Kernel) -> None:
    assert lspci(k, "-vvv -s 00:04.0") == (VM_DATA / "pc-edu-lspci-vvv.txt").read_text()


def test_edu_config_dump_is_the_real_guests(k: Kernel) -> None:
    real = (VM_DATA / "pc-edu-lspci-xxx.txt").read_text().splitlines()
    sim = lspci(k, "-xxx -s 00:04.0").splitlines()
    assert sim[1:] == real[1:]  # the dump; the header line needs pci.ids
    assert lspci(k, "-x -s 4").count("\n") == 1 + 4 + 1  # 64 bytes


@needs_ids
def test_lspci_v_is_the_real_lab_guests_for_the_functions_both_have() -> None:
    k = pc(devices=["edu", "virtio-9p-pci", "virtio-9p-pci"])
    real = _blocks((VM_DATA / "pc-lab-lspci-v.txt").read_text())
    sim = _blocks(lspci(k, "-v"))
    for slot in ("00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:03.0", "00:04.0"):
        assert sim[slot] == real[slot], slot


def _uio_like(k: Kernel) -> None:
    """What uio_pci_generic does to a function it binds: enable it and take its INTx line."""
    def probe(pdev: pci_dev, id: pci_device_id) -> int:
        err = pci_enable_device(pdev)
        if err:
            return err
        return request_irq(pdev.irq, lambda irq, d: IRQ_NONE, IRQF_SHARED, "uio_pci_generic",
                           pdev)
    drv = pci_driver("uio_pci_generic", [], probe)
    pci_register_driver(drv)
    from iomem.kernel.pci import new_id_store

    assert new_id_store(drv, "1234 11e8") == 0


@needs_ids
def test_a_bound_function_shows_as_the_real_one_bound_to_uio_pci_generic(k: Kernel) -> None:
    _uio_like(k)
    assert lspci(k, "-vvv -s 00:04.0") == (DATA / "pc-edu-lspci-vvv-bound.txt").read_text()
    real = (DATA / "pc-interrupts-uio.txt").read_text().splitlines()
    assert " 11:          0   IO-APIC  11-fasteoi   uio_pci_generic" in real
    assert " 11:          0   IO-APIC  11-fasteoi   uio_pci_generic" in \
        proc_interrupts(k).splitlines()
    assert (DATA / "pc-dmesg-enable.txt").read_text().splitlines()[-1] in k.dmesg()


def test_numeric_names_without_a_database(k: Kernel) -> None:
    out = lspci(k, "-v -s 00:04.0", ids_path="/nonexistent/pci.ids")
    assert out.splitlines()[:2] == ["00:04.0 Class 00ff: Device 1234:11e8 (rev 10)",
                                    "\tSubsystem: Device 1af4:1100"]
    assert lspci(k, "-n -s 4") == "00:04.0 00ff: 1234:11e8 (rev 10)\n"


@needs_ids
def test_mixed_names(k: Kernel) -> None:
    assert lspci(k, "-nn -s 4") == \
        "00:04.0 Unclassified device [00ff]: Device [1234:11e8] (rev 10)\n"


def test_options_and_filters() -> None:
    assert parse_args(["-vvv", "-s", "4", "-nn"])["verbose"] == 3
    assert parse_args(["-s4"])["slot"] == "4"
    assert parse_slot_filter("0000:00:04.0") == (0, 0, 4, 0)
    assert parse_slot_filter(":4") == (-1, -1, 4, -1)
    assert parse_slot_filter("04.") == (-1, -1, 4, -1)
    with pytest.raises(ValueError):
        parse_args(["-z"])
    with pytest.raises(ValueError):
        parse_slot_filter("0:0:0:0")


def test_sysfs_attributes(pdev: pci_dev) -> None:
    a = device_attributes(pdev)
    assert (a["vendor"], a["device"], a["class"], a["revision"]) == \
        ("0x1234\n", "0x11e8\n", "0x00ff00\n", "0x10\n")
    assert (a["subsystem_vendor"], a["subsystem_device"], a["irq"], a["enable"]) == \
        ("0x1af4\n", "0x1100\n", "11\n", "0\n")
    assert modalias(pdev) == "pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00"
    assert len(a["config"]) == 256
    assert a["config"][:4] == bytes.fromhex("3412e811")


def test_our_sysfs_reader_reads_the_tree_we_write(k: Kernel, tmp_path: Path) -> None:
    path = write_sysfs_tree(k, tmp_path)
    from iomem.pci.lspci import Lspci, devices_from_kernel

    ls = Lspci(verbose=2)
    assert ls.render(devices_from_sysfs(path)) == ls.render(devices_from_kernel(k))


LSPCI = shutil.which("lspci")
ARGS = ["", "-v", "-vv", "-vvv", "-n", "-nn", "-vnn", "-x", "-xxx", "-k", "-D", "-vvk",
        "-s 00:04.0 -vv", "-s 4 -xxx", "-d 1234: -v", "-s 01.1 -v", "-s :2 -vvv",
        "-i /nonexistent -v"]


def _boards() -> dict[str, Kernel]:
    from iomem.drivers import edu

    bound = pc()
    with bound:
        edu.edu_init()
    return {"pc": pc(), "edu-bound": bound,
            "lab": pc(devices=["edu", "virtio-9p-pci", "virtio-9p-pci"]),
            "bridge": pc(devices=["edu", ("pci-bridge", ["edu", "edu@3"])]),
            "nodefaults": pc(nodefaults=True, devices=["edu", "pci-bridge"])}


@pytest.mark.skipif(LSPCI is None, reason="pciutils' lspci is not installed")
@pytest.mark.parametrize("board", ["pc", "edu-bound", "lab", "bridge", "nodefaults"])
def test_the_real_lspci_prints_what_we_print(board: str, tmp_path: Path) -> None:
    """pciutils' own lspci, pointed at the simulated kernel's sysfs tree."""
    k = _boards()[board]
    path = write_sysfs_tree(k, tmp_path)
    for args in ARGS:
        argv = args.split()
        ids = None
        if "-i" in argv:
            ids = argv[argv.index("-i") + 1]
            del argv[argv.index("-i"):argv.index("-i") + 2]
        real = subprocess.run([LSPCI, "-O", f"sysfs.path={path}", *args.split()],
                              capture_output=True, text=True, check=True).stdout
        assert lspci(k, argv, ids_path=ids) == real, args
