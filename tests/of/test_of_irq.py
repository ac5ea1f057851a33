"""Interrupts: parent inheritance, interrupts-extended, interrupt-map, GIC decoding."""

from __future__ import annotations

import pytest

from iomem.of import (
    load_dts_string,
    of_irq_count,
    of_irq_find_parent,
    of_irq_get,
    of_irq_get_byname,
    of_irq_parse_one,
    of_irqs,
)
from iomem.of.irq import IRQ_TYPE_EDGE_RISING, IRQ_TYPE_LEVEL_HIGH, irq_type_name


def _irqs(tree, path: str) -> list[tuple[str, int, str]]:
    node = tree.find_node_by_path(path)
    return [(i.controller.full_name, i.hwirq, i.type_name) for i in of_irqs(tree, node)]


def test_parent_inherited_from_the_root(edge) -> None:
    uart = edge.find_node_by_path("/soc/serial@1000")
    assert of_irq_find_parent(edge, uart).full_name == "interrupt-controller@8000000"
    assert _irqs(edge, "/soc/serial@1000") == [("interrupt-controller@8000000", 33, "level-high")]


def test_explicit_interrupt_parent_and_two_cells(edge) -> None:
    assert _irqs(edge, "/soc/named@3000") == [("intc@9100000", 5, "level-low"),
                                              ("intc@9100000", 6, "edge-rising")]
    named = edge.find_node_by_path("/soc/named@3000")
    assert of_irq_get_byname(edge, named, "tx").hwirq == 6
    assert of_irq_get_byname(edge, named, "nope") is None
    assert of_irq_count(edge, named) == 2


def test_interrupts_extended(edge) -> None:
    assert _irqs(edge, "/soc/ext@4000") == [("interrupt-controller@8000000", 25, "level-high"),
                                            ("intc@9100000", 7, "edge-falling")]


def test_interrupt_map(edge) -> None:
    assert _irqs(edge, "/soc/nexus@40000/a@41000") == [
        ("interrupt-controller@8000000", 52, "level-high")]
    assert _irqs(edge, "/soc/nexus@40000/b@42000") == [
        ("interrupt-controller@8000000", 53, "edge-rising")]
    spec = of_irq_parse_one(edge, edge.find_node_by_path("/soc/nexus@40000/a@41000"), 0)
    assert spec.args == (0, 20, 4)


def test_controller_with_its_own_parent(edge) -> None:
    assert _irqs(edge, "/intc@9100000") == [("interrupt-controller@8000000", 72, "level-high")]


def test_no_interrupts(edge) -> None:
    leds = edge.find_node_by_path("/soc/leds")
    assert of_irqs(edge, leds) == [] and of_irq_get(edge, leds, 0) is None


def test_virt_interrupts(virt) -> None:
    assert _irqs(virt, "/pl011@9000000") == [("intc@8000000", 33, "level-high")]
    assert _irqs(virt, "/pl031@9010000")[0][1] == 34
    assert _irqs(virt, "/pl061@9030000")[0][1] == 39
    assert _irqs(virt, "/virtio_mmio@a000000") == [("intc@8000000", 48, "edge-rising")]
    assert _irqs(virt, "/virtio_mmio@a003e00")[0][1] == 79
    assert _irqs(virt, "/pmu") == [("intc@8000000", 23, "level-high")]  # PPI 7, cpu mask dropped
    assert [i[1] for i in _irqs(virt, "/timer")] == [29, 30, 27, 26]


def test_virt_pci_intx_through_the_map(virt) -> None:
    """The host bridge's interrupt-map swizzles INTx by slot: slot 1 INTA is SPI 4."""
    from iomem.of.irq import OfPhandleArgs, irq_domain_translate, of_irq_parse_raw
    pcie = virt.find_node_by_path("/pcie@10000000")
    got = []
    for slot in range(4):
        for pin in range(1, 5):
            out = of_irq_parse_raw(virt, [slot << 11, 0, 0], OfPhandleArgs(pcie, (pin,)))
            assert out is not None and out.np.full_name == "intc@8000000"
            got.append(irq_domain_translate(out))
    assert got[4] == (32 + 4, IRQ_TYPE_LEVEL_HIGH)
    assert [hw - 32 for hw, _ in got] == [3, 4, 5, 6, 4, 5, 6, 3, 5, 6, 3, 4, 6, 3, 4, 5]


def test_gic_v3_extended_ranges_and_rejections(dtc) -> None:
    tree = load_dts_string("""
    / { #address-cells = <1>; #size-cells = <1>; interrupt-parent = <&gic>;
        gic: intc@1000 { compatible = "arm,gic-v3"; interrupt-controller;
                         #interrupt-cells = <3>; reg = <0x1000 0x100>; };
        v2: intc@2000 { compatible = "arm,gic-400"; interrupt-controller;
                        #interrupt-cells = <3>; reg = <0x2000 0x100>; };
        a@10 { reg = <0x10 4>; interrupts = <2 5 4>, <3 1 1>, <1 30 4>; };
        b@20 { reg = <0x20 4>; interrupt-parent = <&v2>; interrupts = <2 5 4>; };
        c@30 { reg = <0x30 4>; interrupts = <0 1>; }; };""")
    assert [(i.hwirq, i.type) for i in of_irqs(tree, tree.find_node_by_path("/a@10"))] == [
        (4096 + 5, IRQ_TYPE_LEVEL_HIGH), (1056 + 1, IRQ_TYPE_EDGE_RISING), (46, 4)]
    assert of_irqs(tree, tree.find_node_by_path("/b@20")) == []  # ESPI is v3 only
    assert of_irqs(tree, tree.find_node_by_path("/c@30")) == []  # too short for 3 cells


def test_bad_references_are_no_interrupt(dtc) -> None:
    tree = load_dts_string("""
    / { a { interrupts-extended = <&b 1>; }; b: b { }; c { interrupts = <1>; }; };""")
    assert of_irq_get(tree, tree.find_node_by_path("/a"), 0) is None  # no #interrupt-cells
    assert of_irq_get(tree, tree.find_node_by_path("/c"), 0) is None  # no parent at all


@pytest.mark.parametrize("t,name", [(0, "none"), (1, "edge-rising"), (2, "edge-falling"),
                                    (3, "edge-both"), (4, "level-high"), (8, "level-low"),
                                    (0xC, "0xc")])
def test_type_names(t: int, name: str) -> None:
    assert irq_type_name(t) == name


def test_interrupt_parent_cycles_end(dtc) -> None:
    """A loop of interrupt-parent links (or of maps) is no interrupt, not a hang."""
    tree = load_dts_string("""
    / { a: a { interrupt-parent = <&b>; }; b: b { interrupt-parent = <&a>; };
        c { interrupt-parent = <&a>; interrupts = <1>; };
        n1: n1 { #interrupt-cells = <1>; #address-cells = <0>;
                 interrupt-map-mask = <0>; interrupt-map = <0 &n2 0>; };
        n2: n2 { #interrupt-cells = <1>; #address-cells = <0>;
                 interrupt-map-mask = <0>; interrupt-map = <0 &n1 0>; };
        d { interrupt-parent = <&n1>; interrupts = <3>; }; };""")
    assert of_irq_find_parent(tree, tree.find_node_by_path("/c")) is None
    assert of_irq_get(tree, tree.find_node_by_path("/c"), 0) is None
    assert of_irq_get(tree, tree.find_node_by_path("/d"), 0) is None
