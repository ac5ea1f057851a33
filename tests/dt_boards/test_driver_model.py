"""The driver model on tree boards: deferred probe (an interrupt controller or a clock
provider that comes later), bind and unbind at run time, drivers loaded as modules."""

from __future__ import annotations

from pathlib import Path

import pytest

import iomem
from iomem.kernel import EPROBE_DEFER, OfDeviceId, platform_driver, platform_driver_register
from iomem.kernel.clk import clk_register_fixed_rate, of_clk_add_provider, of_clk_src_onecell_get
from iomem.kernel.irqdomain import irq_domains, irq_find_host
from iomem.kernel.module import (
    ModuleLoadError,
    delete_module,
    load_module,
    module_insert,
    module_prepare,
    modules,
)
from iomem.kernel.platform import platform_get_irq

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dt_board"

BUTTON = """
    gpio: gpio@9030000 {
        compatible = "arm,pl061", "arm,primecell"; reg = <0x9030000 0x1000>;
        interrupts = <0 7 4>; clocks = <&clk>; clock-names = "apb_pclk";
        gpio-controller; #gpio-cells = <2>; interrupt-controller; #interrupt-cells = <2>;
    };
    button { compatible = "acme,button"; interrupt-parent = <&gpio>; interrupts = <3 1>; };
"""


def _button_driver(got: list) -> platform_driver:
    def probe(pdev) -> int:
        irq = platform_get_irq(pdev, 0)
        got.append(irq)
        return irq if irq < 0 else 0
    return platform_driver("acme-button", probe=probe,
                           of_match_table=[OfDeviceId(compatible="acme,button")])


def test_a_device_waits_for_its_interrupt_controller(boot) -> None:
    k = boot(BUTTON, builtin_drivers=False)
    got: list = []
    with k:
        platform_driver_register(_button_driver(got))
    button = k.devices.find_device("button")
    assert got == [-EPROBE_DEFER] and button.driver is None and button in k.devices.deferred
    from iomem.drivers.pl061 import pl061_gpio_init

    with k:
        pl061_gpio_init()  # the controller's driver arrives; deferred devices are retried
    gpio = k.devices.find_device("9030000.gpio")
    domain = irq_find_host(gpio.of_node, k)
    assert gpio.irq[0] == 9 and domain.name == "gpio@9030000"
    # a gpiolib domain is a simple one: the search starts at hwirq % nr_irqs (3), 1-9 are taken
    assert got == [-EPROBE_DEFER, 10] and button.driver.name == "acme-button"
    assert irq_domains(k).hwirq_of(10) == (domain, 3)
    assert button not in k.devices.deferred


def test_a_primecell_waits_for_its_clock_provider(boot) -> None:
    k = boot("""
        cc: clock-controller@9100000 { compatible = "acme,clocks"; reg = <0x9100000 0x100>;
                                       #clock-cells = <1>; };
        uart@9000000 { compatible = "arm,pl011", "arm,primecell"; reg = <0x9000000 0x1000>;
                       interrupts = <0 1 4>; clocks = <&cc 0>, <&cc 1>;
                       clock-names = "uartclk", "apb_pclk"; };
    """)
    uart = k.devices.find_device("9000000.uart")
    assert uart.driver is None and uart.periphid == 0 and uart.deferred
    assert "amba 9000000.uart: deferred probe pending" in k.dmesg()

    def clocks_probe(pdev) -> int:
        clks = [clk_register_fixed_rate(n, r) for n, r in (("uart", 7372800), ("pclk", 1))]
        return of_clk_add_provider(pdev.of_node, of_clk_src_onecell_get(clks))

    with k:
        platform_driver_register(platform_driver(
            "acme-clocks", probe=clocks_probe,
            of_match_table=[OfDeviceId(compatible="acme,clocks")]))
    assert uart.driver.name == "uart-pl011" and uart.periphid == 0x00341011
    assert k.dmesg().splitlines()[-1].endswith(
        "9000000.uart: ttyAMA0 at MMIO 0x9000000 (irq = 9, base_baud = 0) is a PL011 rev3")


def test_bind_and_unbind_at_run_time_follow_sysfs() -> None:
    k = iomem.boot("virt")
    core = k.devices
    assert core.bind("uart-pl011", "9000000.pl011") == -16  # already bound: -EBUSY
    assert core.unbind("9000000.pl011") == 0
    assert core.bind("rtc-pl031", "9000000.pl011") == -19  # does not match: -ENODEV
    assert core.bind("uart-pl011", "9000000.pl011") == 0
    assert core.unbind("nosuch") == -19


def test_a_driver_module_binds_and_rmmod_unbinds() -> None:
    from iomem.boards.dt import load_board

    mod = module_prepare(EXAMPLES / "widget.py")  # its model must exist before the board
    k = iomem.boot(load_board(EXAMPLES / "acme.dts"))
    module_insert(mod, k)
    assert mod in modules(k) and k.tainted >= {"O", "E"}
    lines = k.dmesg().splitlines()
    assert lines[-3].endswith("widget: loading out-of-tree module taints kernel.")
    assert lines[-1].endswith("acme-widget a000000.widget: Acme widget 0xac3e0001, irq 10")
    with k:
        assert mod.namespace["widget_kick"](k.devices.find_device("a000000.widget")) == 1
    assert "0a000000-0a0000ff : a000000.widget widget@a000000" in k.proc_iomem()
    delete_module(mod)
    assert k.devices.find_device("a000000.widget").driver is None
    assert "widget" not in k.proc_iomem() and mod not in modules(k)


def test_module_errors_name_the_file_and_line(tmp_path: Path) -> None:
    k = iomem.boot("virt")
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nraise ValueError('no good')\n")
    with pytest.raises(ModuleLoadError, match=r"bad.py: ValueError: no good \(at bad.py:2"):
        load_module(bad, k)
    failing = tmp_path / "failing.py"
    failing.write_text("from iomem.kernel.module import module_init\n"
                       "module_init(lambda: -19)\n")
    with pytest.raises(ModuleLoadError, match="could not insert module .*: No such device"):
        load_module(failing, k)
    with pytest.raises(ModuleLoadError, match="No such file"):
        load_module(tmp_path / "missing.py", k)


def test_platform_resources_and_irqs_by_name_and_of_helpers(boot) -> None:
    from iomem.kernel import (
        IORESOURCE_MEM,
        devm_platform_ioremap_resource_byname,
        of_address_to_resource,
        of_iomap,
        platform_get_irq_byname,
        platform_get_resource,
        platform_get_resource_byname,
    )
    from iomem.kernel.resource import Resource

    k = boot("""
        dma@10000000 { compatible = "acme,dma"; reg = <0x10000000 0x100>, <0x10001000 0x40>;
                       reg-names = "ctrl", "fifo"; interrupts = <0 3 4>, <0 4 1>;
                       interrupt-names = "done", "error"; };
    """)
    got = {}

    def probe(pdev) -> int:
        got["res"] = [(str(r), r.name) for r in pdev.resource]
        got["fifo"] = str(platform_get_resource_byname(pdev, IORESOURCE_MEM, "fifo"))
        got["none"] = platform_get_resource(pdev, IORESOURCE_MEM, 2)
        got["irqs"] = (platform_get_irq_byname(pdev, "error"), platform_get_irq_byname(pdev,
                                                                                       "done"))
        base = devm_platform_ioremap_resource_byname(pdev, "fifo")
        got["claim"] = k.proc_iomem().splitlines()[0]
        r = Resource()
        got["of"] = (of_address_to_resource(pdev.of_node, 1, r), str(r), r.name,
                     of_address_to_resource(pdev.of_node, 2, Resource()))
        raw = of_iomap(pdev.of_node, 0)
        got["of_iomap"] = (raw.phys, k.proc_iomem().count("10000000-100000ff"))
        k.iounmap(raw)
        return 0 if base else -12

    with k:
        platform_driver_register(platform_driver(
            "acme-dma", probe=probe, of_match_table=[OfDeviceId(compatible="acme,dma")]))
    assert got["res"] == [("[mem 0x10000000-0x100000ff]", "ctrl"),
                          ("[mem 0x10001000-0x1000103f]", "fifo")]
    assert got["fifo"] == "[mem 0x10001000-0x1000103f]" and got["none"] is None
    assert got["irqs"] == (9, 10)  # mapped in the order asked, not the order listed
    assert got["claim"] == "10001000-1000103f : 10000000.dma fifo"
    assert got["of"] == (0, "[mem 0x10001000-0x1000103f]", "fifo", -22)
    assert got["of_iomap"] == (0x10000000, 0)  # of_iomap maps without claiming
