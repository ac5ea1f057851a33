"""Device names, the populate walk, /memory and /reserved-memory."""

from __future__ import annotations

import pytest

from iomem.of import (
    AMBA,
    PLATFORM,
    PopulateState,
    load_dts_string,
    of_account_nodes,
    of_device_make_bus_id,
    of_memory_ranges,
    of_platform_default_populate_init,
    of_platform_populate,
    of_reserved_memory,
)


@pytest.mark.parametrize("path,name", [
    ("/pl011@9000000", "9000000.pl011"),
    ("/pl031@9010000", "9010000.pl031"),
    ("/fw-cfg@9020000", "9020000.fw-cfg"),
    ("/pl061@9030000", "9030000.pl061"),
    ("/virtio_mmio@a000000", "a000000.virtio_mmio"),
    ("/virtio_mmio@a003e00", "a003e00.virtio_mmio"),
    ("/pcie@10000000", "4010000000.pcie"),  # the translated reg, not the unit address
    ("/flash@0", "0.flash"),
    ("/intc@8000000/v2m@8020000", "8020000.v2m"),
    ("/gpio-keys", "gpio-keys"),  # no reg: the full name
    ("/platform-bus@c000000", "platform-bus@c000000"),  # no reg: unit address kept
    ("/gpio-keys/poweroff", "gpio-keys:poweroff"),
    ("/cpus/cpu@0", "cpus:cpu@0"),  # #size-cells = 0: reg does not translate
])
def test_virt_bus_ids(virt, path: str, name: str) -> None:
    assert of_device_make_bus_id(virt.find_node_by_path(path)) == name


@pytest.mark.parametrize("path,name", [
    ("/soc/serial@1000", "10001000.serial"),
    ("/soc/leds", "soc:leds"),
    ("/soc/bus@8000/dev@100", "10008100.dev"),
    ("/soc/bus@8000/far@2000", "soc:bus@8000:far@2000"),
    ("/soc/bus@30000/dev@10", "10030000.bus:dev@10"),  # nearest translatable ancestor
    ("/soc/masked@5000", "10005000.4.masked"),  # "mask": first set bit in between
    ("/wide/dev@1,20", "50000020.dev"),
])
def test_edge_bus_ids(edge, path: str, name: str) -> None:
    assert of_device_make_bus_id(edge.find_node_by_path(path)) == name


def test_populate_order_and_kinds(edge) -> None:
    devices = of_platform_default_populate_init(edge)
    assert [d.name for d in devices] == [
        "5f000000.ramoops",  # reserved_mem_matches come first
        "9100000.intc", "soc", "10001000.serial", "10003000.named", "10004000.ext",
        "10005000.4.masked", "soc:leds", "10006000.cell", "soc:bus@8000", "10008100.dev",
        "soc:bus@8000:far@2000", "soc:bus@20000", "10020010.dev", "10030000.bus",
        "10030000.bus:dev@10", "10040000.nexus", "10041000.a", "10042000.b",
        "wide", "50000020.dev", "narrow", "60000800.dev", "not-a-bus",
    ]
    by_name = {d.name: d for d in devices}
    assert by_name["10006000.cell"].bus == AMBA
    assert by_name["10001000.serial"].bus == PLATFORM
    assert by_name["10008100.dev"].parent is by_name["soc:bus@8000"]
    assert by_name["soc"].parent is None
    assert [r.name for r in by_name["10003000.named"].resources] == ["ctrl", "fifo"]
    assert [i.hwirq for i in by_name["10003000.named"].irqs] == [5, 6]


def test_what_does_not_become_a_device(edge) -> None:
    names = {d.node.path for d in of_platform_default_populate_init(edge)}
    for path in ("/soc/off@2000", "/soc/fail@2100",        # disabled
                 "/soc/disabled-bus", "/soc/disabled-bus/hidden@50000",  # below a disabled bus
                 "/not-a-bus/child@0",                      # not below a bus
                 "/opp-table",                              # of_skipped_node_table
                 "/interrupt-controller@8000000",           # IRQCHIP_DECLARE'd GIC
                 "/cpus", "/chosen", "/aliases", "/reserved-memory",  # no compatible
                 "/reserved-memory/secmon@40000000", "/reserved-memory/linux,cma",
                 "/memory@40000000"):
        assert path not in names, path


def test_early_nodes_are_devices_without_early_init(edge) -> None:
    names = [d.name for d in of_platform_default_populate_init(edge, early=False)]
    assert "8000000.interrupt-controller" in names


def test_primecell_is_not_descended(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <1>; #size-cells = <1>;
        amba { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges;
            ssp@1000 { compatible = "arm,pl022", "arm,primecell";
                       reg = <0x1000 0x1000>, <0x3000 0x10>;
                       #address-cells = <1>; #size-cells = <0>;
                       flash@0 { compatible = "jedec,spi-nor"; reg = <0>; }; };
            bad@0 { compatible = "arm,primecell"; }; }; };""")
    devices = of_platform_default_populate_init(tree)
    assert [(d.name, d.bus) for d in devices] == [("amba", PLATFORM), ("1000.ssp", AMBA)]
    assert len(devices[1].resources) == 1  # an AMBA device has one resource
    accounted = of_account_nodes(tree)
    assert "without a usable reg" in accounted[tree.find_node_by_path("/amba/bad@0")]


def test_populate_a_subtree_without_bus_matching(edge) -> None:
    soc = edge.find_node_by_path("/soc")
    devices = of_platform_populate(edge, soc, matches=None)
    assert "10008100.dev" not in [d.name for d in devices]  # matches=None: no descent
    assert "soc:bus@8000" in [d.name for d in devices]


def test_each_node_is_populated_once(edge) -> None:
    state = PopulateState()
    first = of_platform_populate(edge, state=state)
    assert first and of_platform_populate(edge, state=state) == []
    assert [d.name for d in of_platform_populate(edge)] == [d.name for d in first]


def test_memory(edge, virt) -> None:
    assert [(m.base, m.size, m.node.full_name) for m in of_memory_ranges(edge)] == [
        (0x40000000, 0x20000000, "memory@40000000"), (0x100000000, 0x10000000, "memory@40000000")]
    assert [(m.base, m.end) for m in of_memory_ranges(virt)] == [(0x40000000, 0x7FFFFFFF)]


def test_memory_by_device_type_not_name(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <1>; #size-cells = <1>;
        memory@0 { reg = <0 0x1000>; };
        ram@80000000 { device_type = "memory"; reg = <0x80000000 0x1000>, <0x90000000 0>;
                       linux,usable-memory = <0x80000000 0x800>; hotpluggable; }; };""")
    assert [(m.base, m.size, m.hotpluggable) for m in of_memory_ranges(tree)] == [
        (0x80000000, 0x800, True)]


def test_reserved_memory(edge, virt) -> None:
    got = [(r.name, r.base, r.size, r.no_map, r.reusable) for r in of_reserved_memory(edge)]
    assert got == [
        ("", 0x48000000, 0x10000, False, False),  # /memreserve/
        ("secmon@40000000", 0x40000000, 0x100000, True, False),
        ("linux,cma", None, 0x4000000, False, True),  # dynamic: placed at boot
        ("ramoops@5f000000", 0x5F000000, 0x100000, False, False),
    ]  # the disabled child is ignored
    assert of_reserved_memory(virt) == []


def test_reserved_memory_container_must_match_the_root(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <2>; #size-cells = <2>;
        reserved-memory { #address-cells = <1>; #size-cells = <1>; ranges;
                          r@1000 { reg = <0x1000 0x1000>; no-map; }; }; };""")
    assert of_reserved_memory(tree) == []  # "unsupported node format, ignoring"


def test_every_edge_node_accounted_for(edge) -> None:
    accounted = of_account_nodes(edge)
    assert set(accounted) == set(edge.nodes())
    node = edge.find_node_by_path
    assert accounted[node("/soc/off@2000")] == 'status "disabled"'
    assert accounted[node("/opp-table")] == "skipped (of_skipped_node_table)"
    assert accounted[node("/memory@80000000")] == 'memory, status "disabled"'
    assert accounted[node("/reserved-memory/off@5e000000")].endswith("(ignored)")
    assert accounted[node("/not-a-bus/child@0")] == \
        "below /not-a-bus, which is not a bus: left to its driver"
