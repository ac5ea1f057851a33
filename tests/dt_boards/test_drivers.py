"""Each built-in driver: what its probe claims, maps, requests and prints, what it does
with its device, and that unbinding gives everything back (devres, LIFO)."""

from __future__ import annotations

import iomem
from iomem.drivers.gpiolib import (
    GPIO_LINE_DIRECTION_IN,
    GPIO_LINE_DIRECTION_OUT,
    gpiochip_find,
    gpiod_direction_input,
    gpiod_direction_output,
    gpiod_get_direction,
    gpiod_get_value,
    gpiod_set_value,
)
from iomem.drivers.pl011 import pl011_port
from iomem.drivers.rtc_core import (
    rtc_class_open,
    rtc_read_alarm,
    rtc_read_time,
    rtc_set_alarm,
    rtc_set_time,
    rtc_time,
    rtc_time64_to_tm,
    rtc_wkalrm,
)
from iomem.drivers.serial_core import serial_state, uart_open
from iomem.drivers.syscon import (
    regmap_read,
    regmap_update_bits,
    regmap_write,
    syscon_node_to_regmap,
    syscon_regmap_lookup_by_phandle,
)
from iomem.kernel import IS_ERR
from iomem.kernel.irq import proc_interrupts
from iomem.kernel.of import of_find_node_by_path


def _lines(k) -> list[str]:
    return [r.text for r in k.log.records]


def _irqs(k) -> dict[int, str]:
    out = {}
    for line in proc_interrupts(k).splitlines()[1:]:
        irq, rest = line.split(":", 1)
        out[int(irq)] = rest.split()[-1]
    return out


# -- uart-pl011 ----------------------------------------------------------------------------

def test_pl011_probe_claims_maps_and_announces_the_port() -> None:
    k = iomem.boot("virt")
    assert _lines(k)[_lines(k).index("Serial: AMBA PL011 UART driver") + 1:][:2] == [
        "9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1",
        "printk: console [ttyAMA0] enabled"]
    port = pl011_port(k, 0)
    assert (port.name, port.irq, port.fifosize, port.uartclk) == ("ttyAMA0", 13, 16, 24000000)
    assert port.opened  # the console was opened at the end of boot, as init does
    assert _irqs(k)[13] == "uart-pl011"
    assert "uart-pl011 9000000.pl011: no DMA platform data" in _lines(k)


def test_pl011_tty_writes_by_interrupt_and_reads_what_arrives() -> None:
    k = iomem.boot("virt")
    uart = k.machine.memory.region_at(0x09000000).ops
    tty = uart_open(k, "ttyAMA0")
    text = b"a line longer than the sixteen-deep FIFO, fed from the TX interrupt\n"
    assert tty.write(text) == len(text)
    assert bytes(uart.console) == text and tty.icount_tx == len(text)
    uart.inject(b"typed\n")  # six frames at 38400 baud, then the receive timeout
    k.msleep(5)
    assert tty.read() == b"typed\n"
    assert uart.baud == 38400  # pl011_console_setup: the UART was off, so 38400 8N1


def test_pl011_console_write_polls_and_turns_newline_into_crlf() -> None:
    from iomem.drivers.serial_core import console_write

    k = iomem.boot("virt")
    uart = k.machine.memory.region_at(0x09000000).ops
    console_write(k, "boot ok\n")
    assert bytes(uart.console) == b"boot ok\r\n"


def test_pl011_unbind_gives_everything_back_and_bind_reuses_the_numbers() -> None:
    k = iomem.boot("virt")
    k.devices.unbind("9000000.pl011")
    assert "9000000.pl011 pl011@9000000" not in k.proc_iomem()
    assert "09000000-09000fff : pl011@9000000" in k.proc_iomem()  # the bus's resource stays
    assert {a.phys_addr for a in k.vm_areas()} == {0x09030000, 0x4010000000, 0x09010000}
    assert 13 not in _irqs(k) and "ttyAMA0" not in serial_state(k).ports
    assert serial_state(k).consoles == []
    assert k.devices.bind("uart-pl011", "9000000.pl011") == 0
    assert _lines(k)[-2:] == [
        "9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1",
        "printk: console [ttyAMA0] enabled"]


def test_pl011_ports_take_the_serial_alias_or_the_next_free_line(boot) -> None:
    uarts = "".join(f"""
        uart{i}: uart@{0x9000000 + i * 0x1000:x} {{
            compatible = "arm,pl011", "arm,primecell"; reg = <{0x9000000 + i * 0x1000} 0x1000>;
            interrupts = <0 {i + 1} 4>; clocks = <&clk>, <&clk>;
            clock-names = "uartclk", "apb_pclk"; }};""" for i in range(2))
    k = boot(uarts + 'aliases { serial3 = &uart1; };')
    names = sorted(f"{p.name}@{p.mapbase:x}" for p in serial_state(k).ports.values())
    assert names == ["ttyAMA0@9000000", "ttyAMA3@9001000"]
    assert ("uart-pl011 9001000.uart: aliased and non-aliased serial devices found in device "
            "tree. Serial port enumeration may be unpredictable.") in _lines(k)


# -- rtc-pl031 --------------------------------------------------------------------------------

def test_pl031_claims_by_driver_name_starts_the_counter_and_registers_rtc0() -> None:
    k = iomem.boot("virt")
    assert "  09010000-09010fff : rtc-pl031" in k.proc_iomem().splitlines()
    assert [ln for ln in _lines(k) if ln.startswith("rtc-pl031")] == [
        "rtc-pl031 9010000.pl031: registered as rtc0",
        "rtc-pl031 9010000.pl031: setting system clock to 1970-01-01T00:00:00 UTC (0)"]
    rtc_model = k.machine.memory.region_at(0x09010000).ops
    assert rtc_model.regs["CR"] & 1  # RTC_CR_EN
    assert _irqs(k)[16] == "rtc-pl031"


def test_pl031_time_and_alarm_through_the_rtc_class() -> None:
    k = iomem.boot("virt")
    rtc = rtc_class_open(k, "rtc0")
    with k:
        assert rtc_set_time(rtc, rtc_time64_to_tm(1_700_000_000)) == 0
        k.msleep(2500)
        tm = rtc_time()
        assert rtc_read_time(rtc, tm) == 0 and tm.ptR() == "2023-11-14T22:13:22"
        assert rtc_set_alarm(rtc, rtc_wkalrm(enabled=1, time=rtc_time64_to_tm(1_700_000_004))) == 0
        alarm = rtc_wkalrm()
        rtc_read_alarm(rtc, alarm)
        assert (alarm.enabled, alarm.pending) == (1, 0)
        k.msleep(2000)
    assert rtc.irq_data == 1 and rtc.irq_events == [0xA0]  # RTC_AF | RTC_IRQF


def test_pl031_unbind_frees_the_irq_releases_the_regions_and_unregisters() -> None:
    k = iomem.boot("virt")
    k.devices.unbind("9010000.pl031")
    assert "rtc-pl031" not in k.proc_iomem() and 16 not in _irqs(k)
    assert 0x09010000 not in [a.phys_addr for a in k.vm_areas()]
    assert rtc_class_open(k, "rtc0") is None
    k.devices.bind("rtc-pl031", "9010000.pl031")
    assert _lines(k)[-2] == "rtc-pl031 9010000.pl031: registered as rtc0"  # the id is free again


# -- pl061_gpio --------------------------------------------------------------------------------

def test_pl061_registers_a_gpio_chip_at_the_top_of_the_number_space() -> None:
    k = iomem.boot("virt")
    gc = gpiochip_find(k, "9030000.pl061")
    assert (gc.base, gc.ngpio) == (504, 8)  # as /sys/class/gpio/gpiochip504 on the guest
    assert "pl061_gpio 9030000.pl061: PL061 GPIO chip registered" in _lines(k)
    gpio = k.machine.memory.region_at(0x09030000).ops
    with k:
        assert gpiod_direction_output(gc, 2, 1) == 0
        assert gpio.outputs & 0x04 and gpiod_get_direction(gc, 2) == GPIO_LINE_DIRECTION_OUT
        gpiod_set_value(gc, 2, 0)
        assert not gpio.outputs & 0x04
        assert gpiod_direction_input(gc, 5) == 0
        assert gpiod_get_direction(gc, 5) == GPIO_LINE_DIRECTION_IN
        gpio.set_input(5, 1)
        assert gpiod_get_value(gc, 5) == 1


def test_pl061_unbind_removes_the_chip_and_its_mapping() -> None:
    k = iomem.boot("virt")
    k.devices.unbind("9030000.pl061")
    assert gpiochip_find(k, "9030000.pl061") is None
    assert "9030000.pl061 pl061@9030000" not in k.proc_iomem()
    assert 0x09030000 not in [a.phys_addr for a in k.vm_areas()]


# -- of_serial (8250) -----------------------------------------------------------------------

SERIAL = """
    serial0: serial@10000000 {
        compatible = "ns16550a"; reg = <0x10000000 0x100>; reg-shift = <0>;
        clock-frequency = <3686400>; interrupts = <0 10 4>;
    };
    chosen { stdout-path = "serial0:115200n8"; };
    aliases { serial0 = &serial0; };
"""


def test_of_serial_claims_serial_and_announces_a_16550a(boot) -> None:
    k = boot(SERIAL)
    assert "10000000-100000ff : serial" in k.proc_iomem().splitlines()
    assert "10000000.serial: ttyS0 at MMIO 0x10000000 (irq = 9, base_baud = 230400) is a " \
        "16550A" in _lines(k)
    assert "printk: console [ttyS0] enabled" in _lines(k)
    uart = k.machine.memory.region_at(0x10000000).ops
    assert uart.divisor == 2  # 3686400 / (16 * 115200): the stdout-path options
    tty = serial_state(k).ports["ttyS0"]
    assert tty.opened and _irqs(k)[9] == "ttyS0"
    tty.write(b"8250 says hi\n")
    assert bytes(uart.console).endswith(b"8250 says hi\n")
    uart.inject(b"x")
    k.msleep(1)
    assert tty.read() == b"x"


def test_of_serial_unbind_releases_the_region_and_the_mapping(boot) -> None:
    k = boot(SERIAL)
    k.devices.unbind("10000000.serial")
    assert "serial" not in k.proc_iomem() and k.vm_areas() == []
    assert "ttyS0" not in serial_state(k).ports and 9 not in _irqs(k)


def test_of_serial_reg_io_width_and_shift(boot) -> None:
    k = boot("""
        serial@10000000 { compatible = "ns16550"; reg = <0x10000000 0x20>; reg-shift = <2>;
                          reg-io-width = <4>; clock-frequency = <1843200>; };
    """)
    port = serial_state(k).ports["ttyS0"]
    assert (port.regshift, port.iotype, port.type) == (2, 3, 3)  # UPIO_MEM32, PORT_16550
    assert "is a 16550" in _lines(k)[-1] or any(ln.endswith("is a 16550") for ln in _lines(k))


# -- syscon ------------------------------------------------------------------------------------

def test_syscon_regmap_without_a_claim(boot) -> None:
    k = boot("""
        sysctl: syscon@10000000 { compatible = "acme,sysctl", "syscon"; reg = <0x10000000 0x100>; };
        user { compatible = "acme,user"; acme,sysctl = <&sysctl>; };
    """)
    np = of_find_node_by_path("/syscon@10000000", k)
    with k:
        regmap = syscon_node_to_regmap(np)
        assert not IS_ERR(regmap) and regmap.name == "syscon@0x0000000010000000"
        assert regmap_write(regmap, 0x10, 0xA5) == 0
        assert regmap_update_bits(regmap, 0x10, 0x0F, 0x03) == 0
        assert regmap_read(regmap, 0x10) == (0, 0xA3)
        assert regmap_read(regmap, 0x11) == (-22, 0)  # not a register of a 4-byte stride
        user = of_find_node_by_path("/user", k)
        assert syscon_regmap_lookup_by_phandle(user, "acme,sysctl") is regmap
    assert k.machine.memory.region_at(0x10000000).ops.words[0x10] == 0xA3
    assert "syscon" not in k.proc_iomem()


# -- the SP804 timer (TIMER_OF_DECLARE) -------------------------------------------------------

def test_sp804_is_an_early_timer_with_a_clocksource_and_no_claim(boot) -> None:
    k = boot("""
        timer@1c110000 { compatible = "arm,sp804", "arm,primecell"; reg = <0x1c110000 0x1000>;
                         interrupts = <0 2 4>; clocks = <&clk1m>, <&clk1m>, <&clk>;
                         clock-names = "timclken1", "timclken2", "apb_pclk"; };
        clk1m: clk1m { compatible = "fixed-clock"; #clock-cells = <0>;
                       clock-frequency = <1000000>; };
    """)
    assert ("clocksource: arm,sp804: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: "
            "1911260446275 ns") in _lines(k)
    assert ("sched_clock: 32 bits at 1000kHz, resolution 1000ns, wraps every 2147483647500ns"
            in _lines(k))
    assert _irqs(k)[9] == "timer"
    # the AMBA bus still added the node, with its resource and no driver
    assert k.proc_iomem().splitlines()[0] == "1c110000-1c110fff : timer@1c110000"
    timer = k.machine.memory.region_at(0x1C110000).ops
    t2 = timer.timers[1]
    assert t2.ctrl == 0xC2 and t2.load == 0xFFFFFFFF  # enabled, periodic, 32-bit, free-running
    before = t2.value()
    k.msleep(1)
    assert before - t2.value() == 1000  # 1 MHz: a millisecond is a thousand ticks down


# -- armv8-pmu --------------------------------------------------------------------------------

def test_armv8_pmu_takes_its_ppi_as_linux_irq_14_on_virt() -> None:
    k = iomem.boot("virt")
    assert _irqs(k)[14] == "arm-pmu"
    assert "hw perfevents: enabled with armv8_pmuv3 PMU driver, 7 counters available" in _lines(k)


# -- pci-host-generic -------------------------------------------------------------------------

def test_pci_host_generic_claims_its_windows_and_ecam_and_the_core_assigns_bars() -> None:
    k = iomem.boot("virt")
    host = k.devices.find_device("4010000000.pcie")
    assert host.driver.name == "pci-host-generic"
    assert k.proc_ioports() == "0000-ffff : pcie@10000000\n  1000-101f : 0000:00:01.0\n"
    assert "4010000000-401fffffff : PCI ECAM" in k.proc_iomem().splitlines()
    nic = k.machine.pci_host.function_at(0, 1 << 3)
    # the core wrote the assignment into the function's BAR 4 (decoding stays off: no
    # driver has enabled it)
    bar4 = nic.config_read(0x20, 4) | nic.config_read(0x24, 4) << 32
    assert bar4 & ~0xF == 0x8000000000 and nic.bar_address(nic.bars[4]) is None


def test_pci_intx_routes_through_the_interrupt_map_when_a_driver_enables() -> None:
    from iomem.kernel.pci import (
        PCI_DEVICE,
        pci_device_id,
        pci_driver,
        pci_enable_device,
        pci_register_driver,
    )

    k = iomem.boot("virt")
    seen = []

    def probe(pdev, id) -> int:
        ret = pci_enable_device(pdev)
        seen.append((ret, pdev.irq))
        return ret

    with k:
        pci_register_driver(pci_driver("virtio-net-test", [PCI_DEVICE(0x1AF4, 0x1000),
                                                           pci_device_id()], probe, None))
    # QEMU's map: slot 1 INTA is SPI 4 (INTID 36); the next free Linux irq after 1-16 is 17
    assert seen == [(0, 17)]
    assert _irqs(k).get(17) is None  # mapped, no handler yet
    from iomem.kernel.irqdomain import irq_domains

    assert irq_domains(k).hwirq_of(17)[1] == 36
