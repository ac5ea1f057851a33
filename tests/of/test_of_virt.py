"""QEMU's arm64 virt board: the shipped blob, and a fresh dump when QEMU is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from iomem.of import (
    AMBA,
    PLATFORM,
    load_dtb_file,
    of_account_nodes,
    of_platform_default_populate_init,
)

VIRTIO = [f"{0xa000000 + 0x200 * i:x}.virtio_mmio" for i in range(32)]

#: what Linux 6.1 creates from QEMU 7.2's virt tree, in creation order
VIRT_DEVICES = [
    ("psci", PLATFORM), ("platform-bus@c000000", PLATFORM), ("9020000.fw-cfg", PLATFORM),
    *[(name, PLATFORM) for name in VIRTIO],
    ("gpio-keys", PLATFORM), ("9030000.pl061", AMBA), ("4010000000.pcie", PLATFORM),
    ("9010000.pl031", AMBA), ("9000000.pl011", AMBA), ("pmu", PLATFORM), ("0.flash", PLATFORM),
    ("timer", PLATFORM),
]


def test_virt_devices(virt) -> None:
    devices = of_platform_default_populate_init(virt)
    assert [(d.name, d.bus) for d in devices] == VIRT_DEVICES
    by_name = {d.name: d for d in devices}
    uart = by_name["9000000.pl011"]
    assert [(r.start, r.end, r.name) for r in uart.resources] == [
        (0x9000000, 0x9000FFF, "pl011@9000000")]
    assert [(i.hwirq, i.type_name) for i in uart.irqs] == [(33, "level-high")]
    assert [(r.start, r.size) for r in by_name["a000000.virtio_mmio"].resources] == [
        (0xA000000, 0x200)]
    assert [(r.start, r.size) for r in by_name["0.flash"].resources] == [
        (0, 0x4000000), (0x4000000, 0x4000000)]


def test_every_virt_node_accounted_for(virt) -> None:
    accounted = of_account_nodes(virt)
    assert set(accounted) == set(virt.nodes()) and len(accounted) == 56
    kinds: dict[str, list[str]] = {}
    for node, why in accounted.items():
        kinds.setdefault(why.split(" ")[0], []).append(node.path)
    assert len(kinds["platform"]) + len(kinds["amba"]) == len(VIRT_DEVICES)
    assert kinds["memory"] == ["/memory@40000000"]
    assert sorted(kinds["set"]) == ["/apb-pclk", "/intc@8000000"]  # GIC and fixed clock
    assert kinds["no"] == ["/cpus", "/chosen"]  # no compatible
    assert kinds["root"] == ["/"]
    assert sorted(kinds["below"]) == [
        "/cpus/cpu-map", "/cpus/cpu-map/socket0", "/cpus/cpu-map/socket0/cluster0",
        "/cpus/cpu-map/socket0/cluster0/core0", "/cpus/cpu@0", "/gpio-keys/poweroff",
        "/intc@8000000/v2m@8020000"]


def _dump(tmp_path: Path, *machine: str) -> Path:
    qemu = shutil.which("qemu-system-aarch64")
    if qemu is None:
        pytest.skip("qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)")
    out = tmp_path / "virt.dtb"
    opts = ",".join(("virt", *machine, f"dumpdtb={out}"))
    subprocess.run([qemu, "-machine", opts, "-cpu", "cortex-a57" if not machine else "max",
                    "-m", "1G", "-nographic"], check=True, capture_output=True, timeout=60)
    return out


def test_fresh_qemu_dump_matches_the_shipped_blob(virt, tmp_path: Path) -> None:
    fresh = load_dtb_file(_dump(tmp_path))
    seeds = {"rng-seed", "kaslr-seed"}  # QEMU makes these up on every run

    def shape(tree):
        return [(n.path, {k: v for k, v in n.properties.items()
                          if not (n.full_name == "chosen" and k in seeds)})
                for n in tree.nodes()]
    assert shape(fresh) == shape(virt)


def test_fresh_gicv3_dump_loads_and_is_accounted_for(tmp_path: Path) -> None:
    tree = load_dtb_file(_dump(tmp_path, "gic-version=3"))
    accounted = of_account_nodes(tree)
    assert set(accounted) == set(tree.nodes())
    names = [d.name for d in of_platform_default_populate_init(tree)]
    assert "9000000.pl011" in names and "8000000.intc" not in names
    assert tree.find_node_by_path("/intc@8000000").compatible == ["arm,gic-v3"]
