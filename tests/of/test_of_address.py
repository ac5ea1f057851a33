"""Cell counts, ranges translation through buses, resources and their names."""

from __future__ import annotations

import pytest

from iomem.of import (
    IORESOURCE_IO,
    IORESOURCE_MEM,
    IORESOURCE_MEM_64,
    IORESOURCE_PREFETCH,
    OF_BAD_ADDR,
    OfResource,
    load_dts_string,
    of_address_to_resource,
    of_get_address,
    of_n_addr_cells,
    of_n_size_cells,
    of_pci_ranges,
    of_resource_by_name,
    of_resources,
    of_translate_address,
)


def _res(tree, path: str, index: int = 0) -> OfResource | None:
    return of_address_to_resource(tree.find_node_by_path(path), index)


def test_cell_counts_come_from_the_parent(edge) -> None:
    node = edge.find_node_by_path
    assert (of_n_addr_cells(node("/soc/serial@1000")), of_n_size_cells(node("/soc/serial@1000"))) \
        == (1, 1)
    assert (of_n_addr_cells(node("/memory@40000000")),
            of_n_size_cells(node("/memory@40000000"))) == (2, 2)
    assert (of_n_addr_cells(node("/wide/dev@1,20")), of_n_size_cells(node("/wide/dev@1,20"))) \
        == (3, 1)
    assert (of_n_addr_cells(node("/cpus/cpu@0")), of_n_size_cells(node("/cpus/cpu@0"))) == (1, 0)


def test_cell_counts_default_to_one_and_are_inherited(dtc) -> None:
    tree = load_dts_string("/ { a { b { }; }; };")
    b = tree.find_node_by_path("/a/b")
    assert (of_n_addr_cells(b), of_n_size_cells(b)) == (1, 1)
    tree = load_dts_string("/ { #address-cells = <2>; a { b { }; }; };")
    assert of_n_addr_cells(tree.find_node_by_path("/a/b")) == 2  # from the grandparent


@pytest.mark.parametrize("path,start,end", [
    ("/soc/serial@1000", 0x10001000, 0x100010FF),      # 1 cell through one ranges hop
    ("/soc/bus@8000/dev@100", 0x10008100, 0x1000810F),  # nested ranges, two hops
    ("/soc/bus@20000/dev@20010", 0x10020010, 0x1002001F),  # empty ranges = 1:1
    ("/wide/dev@1,20", 0x50000020, 0x5000002F),        # 3 address cells
    ("/narrow/dev@800", 0x60000800, 0x600008FF),       # 1 cell into a 2-cell parent
    ("/interrupt-controller@8000000", 0x08000000, 0x0800FFFF),  # root child: no ranges needed
])
def test_translation(edge, path: str, start: int, end: int) -> None:
    res = _res(edge, path)
    assert res is not None and (res.start, res.end) == (start, end)
    assert res.flags == IORESOURCE_MEM and res.size == end - start + 1


@pytest.mark.parametrize("path", [
    "/soc/bus@8000/far@2000",  # outside every ranges entry
    "/soc/bus@30000/dev@10",   # parent bus without ranges: not memory-mapped
    "/cpus/cpu@0",             # #size-cells = 0: not a CPU address
    "/soc/leds",               # no reg at all
])
def test_untranslatable(edge, path: str) -> None:
    node = edge.find_node_by_path(path)
    assert of_address_to_resource(node, 0) is None
    assert of_resources(node) == []
    got = of_get_address(node, 0)
    if got is not None:
        assert of_translate_address(node, got[0]) == OF_BAD_ADDR


def test_two_cell_memory_banks(edge) -> None:
    mem = edge.find_node_by_path("/memory@40000000")
    assert [(r.start, r.end) for r in of_resources(mem)] == [
        (0x40000000, 0x5FFFFFFF), (0x100000000, 0x10FFFFFFF)]


def test_resource_names_and_reg_names(edge) -> None:
    named = edge.find_node_by_path("/soc/named@3000")
    assert [(r.name, r.start, r.size) for r in of_resources(named)] == [
        ("ctrl", 0x10003000, 0x100), ("fifo", 0x10003400, 0x40)]
    assert of_resource_by_name(named, "fifo").start == 0x10003400
    assert of_resource_by_name(named, "nope") is None
    assert of_address_to_resource(named, 2) is None
    assert _res(edge, "/soc/serial@1000").name == "serial@1000"  # full name without reg-names


def test_multiple_reg_entries(edge) -> None:
    gic = edge.find_node_by_path("/interrupt-controller@8000000")
    assert [str(r) for r in of_resources(gic)] == [
        "[mem 0x08000000-0x0800ffff]", "[mem 0x08010000-0x0801ffff]"]


def test_pR_format() -> None:
    assert str(OfResource(0x4010000000, 0x401FFFFFFF, "x")) == "[mem 0x4010000000-0x401fffffff]"
    assert str(OfResource(0x1000, 0x1000, "x")) == "[mem 0x00001000]"
    assert str(OfResource(0x1000, 0x101F, "x", IORESOURCE_IO)) == "[io  0x1000-0x101f]"
    flags = IORESOURCE_MEM | IORESOURCE_MEM_64 | IORESOURCE_PREFETCH
    assert str(OfResource(0x8000000000, 0x80000FFFFF, "x", flags)) == \
        "[mem 0x8000000000-0x80000fffff 64bit pref]"


def test_empty_ranges_with_other_cell_counts(edge) -> None:
    child = edge.find_node_by_path("/not-a-bus/child@0")
    assert _res(edge, "/not-a-bus/child@0") == OfResource(0, 0xF, "child@0")
    assert of_translate_address(child, [0x20]) == 0x20


def test_ranges_pick_the_matching_entry(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <1>; #size-cells = <1>;
        ebi { compatible = "simple-bus"; #address-cells = <2>; #size-cells = <1>;
              ranges = <0 0  0x20000000 0x100000>, <1 0  0x30000000 0x100000>;
              cs0@0,100 { reg = <0 0x100 0x10>; };
              cs1@1,200 { reg = <1 0x200 0x10>; };
              cs2@2,0 { reg = <2 0 0x10>; }; }; };""")
    assert _res(tree, "/ebi/cs0@0,100").start == 0x20000100
    assert _res(tree, "/ebi/cs1@1,200").start == 0x30000200
    assert _res(tree, "/ebi/cs2@2,0") is None


def test_pci_bus_translation(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <2>; #size-cells = <2>;
        pcie@10000000 { device_type = "pci"; compatible = "pci-host-ecam-generic";
            #address-cells = <3>; #size-cells = <2>;
            reg = <0x0 0x3f000000 0x0 0x1000000>;
            ranges = <0x01000000 0x0 0x0  0x0 0x3eff0000  0x0 0x10000>,
                     <0x02000000 0x0 0x10000000  0x0 0x10000000  0x0 0x2eff0000>,
                     <0x43000000 0x80 0x0  0x80 0x0  0x80 0x0>;
            dev@0,0 { reg = <0x0 0 0 0 0>;
                assigned-addresses = <0x82000010 0x0 0x10100000 0x0 0x1000>,
                                     <0xc3000018 0x80 0x0 0x0 0x100000>,
                                     <0x81000020 0x0 0x100 0x0 0x20>; }; }; };""")
    dev = tree.find_node_by_path("/pcie@10000000/dev@0,0")
    r0 = of_address_to_resource(dev, 0)
    assert (r0.start, r0.end, r0.flags) == (0x10100000, 0x10100FFF, IORESOURCE_MEM)
    r1 = of_address_to_resource(dev, 1)
    assert r1.start == 0x8000000000
    assert r1.flags == IORESOURCE_MEM | IORESOURCE_MEM_64 | IORESOURCE_PREFETCH
    # I/O space becomes a port number only through a probed host bridge
    assert of_get_address(dev, 2)[2] == IORESOURCE_IO
    assert of_address_to_resource(dev, 2) is None


def test_virt_pci_windows(virt) -> None:
    pcie = virt.find_node_by_path("/pcie@10000000")
    assert of_resources(pcie)[0][:2] == (0x4010000000, 0x401FFFFFFF)  # high ECAM
    assert [(w.flags, w.pci_addr, w.cpu_addr, w.size) for w in of_pci_ranges(pcie)] == [
        (IORESOURCE_IO, 0, 0x3EFF0000, 0x10000),
        (IORESOURCE_MEM, 0x10000000, 0x10000000, 0x2EFF0000),
        (IORESOURCE_MEM | IORESOURCE_MEM_64, 0x8000000000, 0x8000000000, 0x8000000000),
    ]


def test_address_wraps_at_64_bits(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <2>; #size-cells = <2>;
        bus { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>;
              ranges = <0x0 0xffffffff 0xfffff000 0x2000>;
              d@1800 { reg = <0x1800 0x10>; }; }; };""")
    res = _res(tree, "/bus/d@1800")
    assert res.start == 0x800  # the kernel's u64 arithmetic wraps
