"""A board from a tree: RAM, a region per reg entry, models by compatible, unmodelled
regions that log, interrupts wired to the root controller, memory and reserved memory."""

from __future__ import annotations

import iomem
from iomem.boards.virt import build_virt
from iomem.devices import PL011, PL031, PL061, Unmodelled
from iomem.of import load_builtin, of_account_nodes
from iomem.of.platform import PopulateState


def test_virt_models_the_primecells_with_qemus_ids_and_logs_the_rest() -> None:
    b = build_virt()
    uart, rtc, gpio = (b.model_of(n) for n in ("pl011@9000000", "pl031@9010000", "pl061@9030000"))
    assert (type(uart), type(rtc), type(gpio)) == (PL011, PL031, PL061)
    assert (uart.periphid, rtc.periphid, gpio.periphid) == (0x00141011, 0x00141031, 0x00041061)
    unmodelled = b.unmodelled()
    assert len([p for p in unmodelled if p.startswith("/virtio_mmio@")]) == 32
    assert {"/fw-cfg@9020000", "/flash@0", "/intc@8000000",
            "/intc@8000000/v2m@8020000"} <= set(unmodelled)
    assert b.machine.pci_host.function_at(0, 1 << 3).name == "virtio-net-pci"  # 00:01.0
    # two reg entries, two regions, QEMU's names
    assert [r.name for r in b.regions["/flash@0"]] == ["virt.flash0", "virt.flash1"]
    assert [r.name for r in b.regions["/intc@8000000"]] == ["gic_dist", "gic_cpu"]
    mem = b.machine.memory
    assert mem.region_at(0x4010000000).name == "pcie-ecam"
    assert mem.region_at(0x40000000).name == "mach-virt.ram"
    # the UART's interrupt output is the GIC input INTID 33 (SPI 1)
    assert uart.irq_out[0] is b.machine.irq(33)
    assert rtc.irq_out[0] is b.machine.irq(34) and gpio.irq_out[0] is b.machine.irq(39)


def test_an_unmodelled_region_reads_zero_or_the_configured_value_and_records() -> None:
    k = iomem.boot("virt")
    slot = k.machine.memory.region_at(0x0A000000).ops
    assert isinstance(slot, Unmodelled) and slot.node_compatible == ("virtio,mmio",)
    with k:
        base = iomem.ioremap(0x0A000000, 0x200)
        assert iomem.readl(base) == 0
        iomem.writel(0x1234, base + 0x70)
        iomem.iounmap(base)
    assert [(a.offset, a.size, a.is_write, a.value) for a in slot.accesses] == [
        (0, 4, False, 0), (0x70, 4, True, 0x1234)]
    assert slot.touched() == {0: (1, 0), 0x70: (0, 1)}


def test_unmodelled_read_value_is_a_board_option(board) -> None:
    b = board('thing@10000000 { compatible = "acme,no-model"; reg = <0x10000000 0x100>; };',
              read_value=0xFFFFFFFF)
    k = iomem.boot(b)
    with k:
        base = iomem.ioremap(0x10000000, 0x100)
        assert iomem.readl(base + 8) == 0xFFFFFFFF
    summary = b.model_of("thing@10000000").summary().splitlines()
    assert summary == ["thing: 1 accesses to an unmodelled region",
                       "  +0x0008: 1 read(s), 0 write(s)"]


def test_every_enabled_node_with_reg_gets_a_region_and_disabled_ones_do_not(board) -> None:
    b = board("""
        a@10000000 { compatible = "acme,a"; reg = <0x10000000 0x100>, <0x10001000 0x10>; };
        b@10002000 { compatible = "acme,b"; reg = <0x10002000 0x100>; status = "disabled"; };
        c { compatible = "acme,c"; };
    """)
    assert set(b.regions) == {"/interrupt-controller@8000000", "/a@10000000"}
    assert [(r.name, r.size) for r in b.regions["/a@10000000"]] == [("a", 0x100), ("a.1", 0x10)]
    assert b.machine.memory.region_at(0x10002000) is None


def test_deeper_nodes_win_where_regions_overlap(board) -> None:
    b = board("""
        soc@10000000 {
            compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>;
            ranges = <0 0x10000000 0x10000>; reg = <0x10000000 0x10000>;
            uart@1000 { compatible = "ns16550a"; reg = <0x1000 0x100>; };
        };
    """)
    mem = b.machine.memory
    assert mem.region_at(0x10001000).name == "uart" and mem.region_at(0x10002000).name == "soc"


def test_memory_and_reserved_memory_in_the_resource_tree(boot) -> None:
    k = boot("""
        reserved-memory {
            #address-cells = <1>; #size-cells = <1>; ranges;
            fw@40100000 { reg = <0x40100000 0x100000>; no-map; };
            buf@40400000 { reg = <0x40400000 0x10000>; };
            linux,cma { compatible = "shared-dma-pool"; reusable; size = <0x400000>; };
            off@40800000 { reg = <0x40800000 0x1000>; status = "disabled"; };
        };
    """)
    assert k.proc_iomem() == ("40000000-400fffff : System RAM\n"
                              "40100000-401fffff : reserved\n"
                              "40200000-40ffffff : System RAM\n"
                              "  40400000-4040ffff : reserved\n"
                              "  40c00000-40ffffff : reserved\n")
    assert ("Reserved memory: created CMA memory pool at 0x0000000040c00000, size 4 MiB"
            in k.dmesg())
    assert "OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool" \
        in k.dmesg()


def test_every_node_of_qemus_tree_is_accounted_for_after_boot() -> None:
    tree = load_builtin("virt")
    why = of_account_nodes(tree, PopulateState())
    assert set(why) == set(tree.nodes())
    k = iomem.boot("virt")
    from iomem.kernel.of import of_state

    st = of_state(k)
    accounted = of_account_nodes(st.tree, st.populate)
    assert set(accounted) == set(st.tree.nodes())
    made = {n for n in st.tree.nodes() if accounted[n].startswith(("platform device",
                                                                   "amba device"))}
    assert len(made) == 43
    assert {d.of_node for d in k.devices.devices if d.of_node is not None} == made
    assert accounted[st.tree.find_node_by_path("/intc@8000000")] == \
        "set up early by its irqchip/clock driver"


def test_kernel_devices_are_named_as_linux_names_them(boot) -> None:
    k = iomem.boot("virt")
    names = {d.name: d.bus.name for d in k.devices.devices if d.of_node is not None}
    for name, bus in (("psci", "platform"), ("platform-bus@c000000", "platform"),
                      ("9020000.fw-cfg", "platform"), ("a000000.virtio_mmio", "platform"),
                      ("a003e00.virtio_mmio", "platform"), ("gpio-keys", "platform"),
                      ("4010000000.pcie", "platform"), ("pmu", "platform"),
                      ("0.flash", "platform"), ("timer", "platform"),
                      ("9000000.pl011", "amba"), ("9010000.pl031", "amba"),
                      ("9030000.pl061", "amba")):
        assert names[name] == bus, name
    flash = k.devices.find_device("0.flash")
    assert [(str(r), r.name) for r in flash.resource] == [
        ("[mem 0x00000000-0x03ffffff]", "flash@0"), ("[mem 0x04000000-0x07ffffff]", "flash@0")]
    nested = boot("""
        soc { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>; ranges;
              leds { compatible = "gpio-leds"; };
              timer@10000000 { compatible = "acme,timer"; reg = <0x10000000 0x100>; }; };
    """)
    devs = {d.name: d for d in nested.devices.devices if d.of_node is not None}
    assert {"soc", "soc:leds", "10000000.timer"} <= set(devs)
    assert devs["soc:leds"].parent is devs["soc"] and devs["10000000.timer"].parent is devs["soc"]
