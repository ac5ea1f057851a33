"""16550-compatible UARTs from the device tree: drivers/tty/serial/8250/8250_of.c
(``of_serial``) on top of the 8250 core (8250_core.c, 8250_port.c) of Linux 6.1.

``serial8250_init`` prints ``Serial: 8250/16550 driver, 4 ports, IRQ sharing
enabled``.  ``of_platform_serial_probe`` reads the node (``clock-frequency``
or the clock, ``reg-shift``, ``reg-io-width``, ``reg-offset``, ``fifo-size``,
the ``serialN`` alias, the interrupt) and registers the port with the type
its compatible names (``ns16550a`` -> 16550A).  The port claims its
registers when it is configured: ``request_mem_region(mapbase, mapsize,
"serial")`` then ``ioremap`` (/proc/iomem: ``10000000-100000ff : serial``),
and it is announced as ``10000000.serial: ttyS0 at MMIO 0x10000000 (irq =
12, base_baud = 230400) is a 16550A``.  Removing the driver releases both.
"""

from __future__ import annotations

from typing import Any

from ..kernel import (
    ioread32be,
    iowrite32be,
    readb,
    readl,
    readw,
    writeb,
    writel,
    writew,
)
from ..kernel.clk import clk_get_rate, clk_prepare_enable, devm_clk_get
from ..kernel.device import OfDeviceId, dev_warn, of_device_get_match_data
from ..kernel.errno import EBUSY, EINVAL, ENOMEM, ENOSPC, EPROBE_DEFER, IS_ERR, PTR_ERR
from ..kernel.irq import IRQ_HANDLED, IRQ_NONE, IRQF_SHARED, free_irq, request_irq
from ..kernel.kernel import Kernel, current_kernel
from ..kernel.of import (
    of_address_to_resource,
    of_alias_get_id,
    of_device_is_big_endian,
    of_irq_get,
    of_property_read_bool,
    of_property_read_u32,
)
from ..kernel.platform import (
    platform_device,
    platform_driver,
    platform_driver_register,
    platform_get_drvdata,
    platform_set_drvdata,
)
from ..kernel.resource import Resource, resource_size
from .serial_core import (
    PORT_8250,
    PORT_16450,
    PORT_16550,
    PORT_16550A,
    PORT_16750,
    PORT_16850,
    PORT_UNKNOWN,
    UART_CONFIG_TYPE,
    UPF_BOOT_AUTOCONF,
    UPF_FIXED_PORT,
    UPF_FIXED_TYPE,
    UPF_IOREMAP,
    UPF_SHARE_IRQ,
    UPF_SKIP_TEST,
    UPIO_MEM,
    UPIO_MEM16,
    UPIO_MEM32,
    UPIO_MEM32BE,
    uart_add_one_port,
    uart_console_write,
    uart_driver,
    uart_insert_char,
    uart_ops,
    uart_parse_options,
    uart_port,
    uart_register_driver,
    uart_remove_one_port,
)

DRV_NAME = "of_serial"
NR_UARTS = 4  # CONFIG_SERIAL_8250_RUNTIME_UARTS

# include/uapi/linux/serial_reg.h
UART_RX, UART_TX, UART_DLL, UART_IER, UART_DLM, UART_IIR, UART_FCR = 0, 0, 0, 1, 1, 2, 2
UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR = 3, 4, 5, 6, 7
UART_IER_RDI, UART_IER_THRI, UART_IER_RLSI, UART_IER_MSI = 0x01, 0x02, 0x04, 0x08
UART_IIR_NO_INT = 0x01
UART_FCR_ENABLE_FIFO, UART_FCR_CLEAR_RCVR, UART_FCR_CLEAR_XMIT = 0x01, 0x02, 0x04
UART_FCR_R_TRIG_10 = 0x80
UART_LCR_DLAB, UART_LCR_WLEN8, UART_LCR_STOP, UART_LCR_PARITY, UART_LCR_EPAR = (
    0x80, 0x03, 0x04, 0x08, 0x10)
UART_MCR_DTR, UART_MCR_RTS, UART_MCR_OUT2 = 0x01, 0x02, 0x08
UART_LSR_DR, UART_LSR_OE, UART_LSR_BI, UART_LSR_THRE, UART_LSR_TEMT = (
    0x01, 0x02, 0x10, 0x20, 0x40)
BOTH_EMPTY = UART_LSR_TEMT | UART_LSR_THRE

#: uart_config[] of 8250_port.c: name, fifo_size, tx_loadsz, fcr
UART_CONFIG: dict[int, tuple[str, int, int, int]] = {
    PORT_UNKNOWN: ("unknown", 1, 1, 0),
    PORT_8250: ("8250", 1, 1, 0),
    PORT_16450: ("16450", 1, 1, 0),
    PORT_16550: ("16550", 1, 1, 0),
    PORT_16550A: ("16550A", 16, 16, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10),
    PORT_16750: ("TI16750", 64, 64, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10 | 0x20),
    PORT_16850: ("XR16850", 128, 128, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10),
}


class uart_8250_port(uart_port):  # noqa: N801 - the kernel's name
    def __init__(self, ops: uart_ops) -> None:
        super().__init__(ops)
        self.ier = 0
        self.lcr = 0
        self.mcr = 0
        self.fcr = 0
        self.tx_loadsz = 1
        self.res_requested = False


def serial_in(up: uart_8250_port, offset: int) -> int:
    addr = up.membase + (offset << up.regshift)
    if up.iotype == UPIO_MEM32:
        return readl(addr) & 0xFF
    if up.iotype == UPIO_MEM32BE:
        return ioread32be(addr) & 0xFF
    if up.iotype == UPIO_MEM16:
        return readw(addr) & 0xFF
    return readb(addr)


def serial_out(up: uart_8250_port, offset: int, value: int) -> None:
    addr = up.membase + (offset << up.regshift)
    value &= 0xFF
    if up.iotype == UPIO_MEM32:
        writel(value, addr)
    elif up.iotype == UPIO_MEM32BE:
        iowrite32be(value, addr)
    elif up.iotype == UPIO_MEM16:
        writew(value, addr)
    else:
        writeb(value, addr)


def serial8250_port_size(up: uart_8250_port) -> int:
    return up.mapsize if up.mapsize else 8 << up.regshift


def serial8250_request_std_resource(up: uart_8250_port) -> int:
    """Claim the registers as ``serial`` and map them (UPF_IOREMAP)."""
    k = current_kernel()
    size = serial8250_port_size(up)
    if not up.mapbase:
        return 0
    if k.request_mem_region(up.mapbase, size, "serial") is None:
        return -EBUSY
    if up.flags & UPF_IOREMAP:
        up.membase = k.ioremap(up.mapbase, size)
        if up.membase is None:
            k.release_mem_region(up.mapbase, size)
            return -ENOMEM
    up.res_requested = True
    return 0


def serial8250_release_std_resource(up: uart_8250_port) -> None:
    if not up.res_requested:
        return
    k = current_kernel()
    if up.flags & UPF_IOREMAP and up.membase is not None:
        k.iounmap(up.membase)
        up.membase = None
    k.release_mem_region(up.mapbase, serial8250_port_size(up))
    up.res_requested = False


class serial8250_pops(uart_ops):  # noqa: N801
    def tx_empty(self, port: uart_port) -> bool:
        return (serial_in(port, UART_LSR) & BOTH_EMPTY) == BOTH_EMPTY  # type: ignore[arg-type]

    def set_mctrl(self, port: uart_port, mctrl: int) -> None:
        up: uart_8250_port = port  # type: ignore[assignment]
        mcr = (UART_MCR_RTS if mctrl & 0x004 else 0) | (UART_MCR_DTR if mctrl & 0x002 else 0)
        mcr |= UART_MCR_OUT2 if up.opened else 0
        up.mcr = mcr
        serial_out(up, UART_MCR, mcr)

    def stop_tx(self, port: uart_port) -> None:
        up: uart_8250_port = port  # type: ignore[assignment]
        if up.ier & UART_IER_THRI:
            up.ier &= ~UART_IER_THRI
            serial_out(up, UART_IER, up.ier)

    def start_tx(self, port: uart_port) -> None:
        up: uart_8250_port = port  # type: ignore[assignment]
        if not up.ier & UART_IER_THRI:
            up.ier |= UART_IER_THRI
            serial_out(up, UART_IER, up.ier)

    def startup(self, port: uart_port) -> int:
        """A trimmed ``serial8250_do_startup``: clear the FIFOs and the pending
        state, claim the irq (named after the port), 8N1, OUT2, receive interrupts."""
        up: uart_8250_port = port  # type: ignore[assignment]
        if up.fifosize > 1:
            serial_out(up, UART_FCR, UART_FCR_ENABLE_FIFO)
            serial_out(up, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR
                       | UART_FCR_CLEAR_XMIT)
            serial_out(up, UART_FCR, 0)
        serial_in(up, UART_LSR)
        serial_in(up, UART_RX)
        serial_in(up, UART_IIR)
        serial_in(up, UART_MSR)
        if up.irq:
            ret = request_irq(up.irq, serial8250_interrupt,
                              IRQF_SHARED if up.flags & UPF_SHARE_IRQ else 0, up.name, up)
            if ret:
                return ret
        serial_out(up, UART_LCR, UART_LCR_WLEN8)
        up.mcr |= UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS
        serial_out(up, UART_MCR, up.mcr)
        if up.fcr:
            serial_out(up, UART_FCR, up.fcr)
        serial_in(up, UART_LSR)
        serial_in(up, UART_RX)
        up.ier = UART_IER_RLSI | UART_IER_RDI
        serial_out(up, UART_IER, up.ier)
        return 0

    def shutdown(self, port: uart_port) -> None:
        up: uart_8250_port = port  # type: ignore[assignment]
        up.ier = 0
        serial_out(up, UART_IER, 0)
        up.mcr &= ~UART_MCR_OUT2
        serial_out(up, UART_MCR, up.mcr)
        serial_out(up, UART_LCR, serial_in(up, UART_LCR) & ~0x40)  # no break
        if up.fifosize > 1:
            serial_out(up, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR
                       | UART_FCR_CLEAR_XMIT)
            serial_out(up, UART_FCR, 0)
        serial_in(up, UART_RX)
        if up.irq:
            free_irq(up.irq, up)

    def set_termios(self, port: uart_port, baud: int, cflag_bits: int, parity: str,
                    stop: int) -> None:
        up: uart_8250_port = port  # type: ignore[assignment]
        if not up.uartclk or not baud:
            return
        quot = (up.uartclk + 8 * baud) // (16 * baud)  # DIV_ROUND_CLOSEST(uartclk/16, baud)
        lcr = (cflag_bits - 5) & 3
        if stop == 2:
            lcr |= UART_LCR_STOP
        if parity in ("e", "o"):
            lcr |= UART_LCR_PARITY | (UART_LCR_EPAR if parity == "e" else 0)
        serial_out(up, UART_LCR, lcr | UART_LCR_DLAB)
        serial_out(up, UART_DLL, quot & 0xFF)
        serial_out(up, UART_DLM, quot >> 8 & 0xFF)
        serial_out(up, UART_LCR, lcr)
        up.lcr = lcr
        if up.fcr:
            serial_out(up, UART_FCR, up.fcr)
        up.baud = baud

    def type(self, port: uart_port) -> str | None:
        return UART_CONFIG.get(port.type, UART_CONFIG[PORT_UNKNOWN])[0]

    def config_port(self, port: uart_port, flags: int) -> None:
        up: uart_8250_port = port  # type: ignore[assignment]
        if serial8250_request_std_resource(up) < 0:
            return
        if flags & UART_CONFIG_TYPE:
            up.type = PORT_16550A  # what autoconfig finds on the 16550A model
        if up.type == PORT_UNKNOWN:
            serial8250_release_std_resource(up)
            return
        up.fcr = UART_CONFIG[up.type][3] if up.type in UART_CONFIG else 0

    def release_port(self, port: uart_port) -> None:
        serial8250_release_std_resource(port)  # type: ignore[arg-type]

    def console_write(self, port: uart_port, data: bytes) -> None:
        """``serial8250_console_write``: interrupts off, poll THRE per character."""
        up: uart_8250_port = port  # type: ignore[assignment]
        ier = serial_in(up, UART_IER)
        serial_out(up, UART_IER, 0)
        uart_console_write(port, data, serial8250_console_putchar)
        while (serial_in(up, UART_LSR) & BOTH_EMPTY) != BOTH_EMPTY:
            pass
        serial_out(up, UART_IER, ier)

    def console_setup(self, port: uart_port, options: str | None) -> int:
        if not port.membase:
            return -19
        baud, parity, bits = 9600, "n", 8
        if options:
            baud, parity, bits, _ = uart_parse_options(options)
        self.set_termios(port, baud, bits, parity, 1)
        return 0


serial8250_ops = serial8250_pops()


def serial8250_console_putchar(port: uart_port, ch: int) -> None:
    up: uart_8250_port = port  # type: ignore[assignment]
    while not serial_in(up, UART_LSR) & UART_LSR_THRE:
        pass
    serial_out(up, UART_TX, ch)


def serial8250_interrupt(irq: int, dev_id: Any) -> int:
    """``serial8250_handle_irq``: receive while LSR.DR, transmit on THRE."""
    up: uart_8250_port = dev_id
    iir = serial_in(up, UART_IIR)
    if iir & UART_IIR_NO_INT:
        return IRQ_NONE
    lsr = serial_in(up, UART_LSR)
    for _ in range(256):
        if not lsr & (UART_LSR_DR | UART_LSR_BI):
            break
        ch = serial_in(up, UART_RX)
        if lsr & UART_LSR_OE:
            up.icount_overrun += 1
        uart_insert_char(up, ch)
        lsr = serial_in(up, UART_LSR)
    serial_in(up, UART_MSR)
    if lsr & UART_LSR_THRE and up.ier & UART_IER_THRI:
        count = up.tx_loadsz
        while up.xmit and count:
            serial_out(up, UART_TX, up.xmit.popleft())
            up.icount_tx += 1
            count -= 1
        if not up.xmit:
            up.ops.stop_tx(up)
    return IRQ_HANDLED


class _State:
    def __init__(self) -> None:
        self.reg = uart_driver("serial", "ttyS", NR_UARTS)
        self.ports: list[uart_8250_port | None] = [None] * NR_UARTS


def _state(k: Kernel) -> _State:
    got = k.__dict__.get("_serial8250")
    if got is None:
        got = k.__dict__["_serial8250"] = _State()
    return got


def serial8250_init() -> int:
    """The 8250 core's init (a device_initcall): no legacy ports on these boards."""
    k = current_kernel()
    st = _state(k)
    k.printk_info(f"Serial: 8250/16550 driver, {NR_UARTS} ports, IRQ sharing enabled")
    return uart_register_driver(st.reg)


def serial8250_register_8250_port(up: uart_8250_port) -> int:
    """Find a line (the alias's if free, else the first unused), set the type's
    defaults and add the port; the line number or a negative errno."""
    st = _state(current_kernel())
    line = None
    if 0 <= up.line < NR_UARTS and st.ports[up.line] is None:
        line = up.line
    else:
        line = next((i for i, p in enumerate(st.ports) if p is None), None)
    if line is None:
        return -ENOSPC
    up.line = line
    name, fifo, loadsz, _fcr = UART_CONFIG.get(up.type, UART_CONFIG[PORT_UNKNOWN])
    if up.flags & UPF_FIXED_TYPE:
        if not up.fifosize:
            up.fifosize = fifo
        up.tx_loadsz = up.tx_loadsz if up.tx_loadsz > 1 else loadsz
    ret = uart_add_one_port(st.reg, up)
    if ret:
        return ret
    st.ports[line] = up
    return line


def serial8250_unregister_port(line: int) -> None:
    st = _state(current_kernel())
    up = st.ports[line]
    if up is None:
        return
    uart_remove_one_port(st.reg, up)
    st.ports[line] = None


class of_serial_info:  # noqa: N801
    def __init__(self) -> None:
        self.clk: Any = None
        self.type = PORT_UNKNOWN
        self.line = -1


def of_platform_serial_setup(ofdev: platform_device, type: int, up: uart_8250_port,
                             info: of_serial_info) -> int:
    np = ofdev.of_node
    ret, clk = of_property_read_u32(np, "clock-frequency")
    if ret:
        info.clk = devm_clk_get(ofdev, None)
        if IS_ERR(info.clk):
            ret = PTR_ERR(info.clk)
            if ret != -EPROBE_DEFER:
                dev_warn(ofdev, f"failed to get clock: {ret}")
            return ret
        clk_prepare_enable(info.clk)
        clk = clk_get_rate(info.clk)
    res = Resource()
    if of_address_to_resource(np, 0, res):
        dev_warn(ofdev, "invalid address")
        return -EINVAL
    up.flags = UPF_SHARE_IRQ | UPF_BOOT_AUTOCONF | UPF_FIXED_PORT | UPF_FIXED_TYPE
    up.mapbase = res.start
    up.mapsize = resource_size(res)
    ret, prop = of_property_read_u32(np, "reg-offset")
    if ret == 0:
        if prop >= up.mapsize:
            dev_warn(ofdev, f"reg-offset {prop} exceeds region size 0x{up.mapsize:016x}")
            return -EINVAL
        up.mapbase += prop
        up.mapsize -= prop
    up.iotype = UPIO_MEM
    ret, prop = of_property_read_u32(np, "reg-io-width")
    if ret == 0:
        if prop == 1:
            up.iotype = UPIO_MEM
        elif prop == 2:
            up.iotype = UPIO_MEM16
        elif prop == 4:
            up.iotype = UPIO_MEM32BE if of_device_is_big_endian(np) else UPIO_MEM32
        else:
            dev_warn(ofdev, f"unsupported reg-io-width ({prop})")
            return -EINVAL
    up.flags |= UPF_IOREMAP
    ret, prop = of_property_read_u32(np, "reg-shift")
    if ret == 0:
        up.regshift = prop
    ret, prop = of_property_read_u32(np, "fifo-size")
    if ret == 0:
        up.fifosize = prop
    alias = of_alias_get_id(np, "serial")
    if alias >= 0:
        up.line = alias
    irq = of_irq_get(np, 0)
    if irq < 0:
        if irq == -EPROBE_DEFER:
            return -EPROBE_DEFER
        irq = 0
    up.irq = irq
    up.type = type
    up.uartclk = clk
    if of_property_read_bool(np, "no-loopback-test"):
        up.flags |= UPF_SKIP_TEST
    up.dev = ofdev
    return 0


def of_platform_serial_probe(ofdev: platform_device) -> int:
    port_type = of_device_get_match_data(ofdev)
    if not port_type:
        return -EINVAL
    if of_property_read_bool(ofdev.of_node, "used-by-rtas"):
        return -EBUSY
    info = of_serial_info()
    up = uart_8250_port(serial8250_ops)
    ret = of_platform_serial_setup(ofdev, port_type, up, info)
    if ret:
        return ret
    ret, thr = of_property_read_u32(ofdev.of_node, "tx-threshold")
    if ret == 0 and thr < up.fifosize:
        up.tx_loadsz = up.fifosize - thr
    ret = serial8250_register_8250_port(up)
    if ret < 0:
        return ret
    info.type = port_type
    info.line = ret
    platform_set_drvdata(ofdev, info)
    return 0


def of_platform_serial_remove(ofdev: platform_device) -> None:
    info: of_serial_info = platform_get_drvdata(ofdev)
    serial8250_unregister_port(info.line)


of_platform_serial_table = [
    OfDeviceId(compatible="ns8250", data=PORT_8250),
    OfDeviceId(compatible="ns16450", data=PORT_16450),
    OfDeviceId(compatible="ns16550a", data=PORT_16550A),
    OfDeviceId(compatible="ns16550", data=PORT_16550),
    OfDeviceId(compatible="ns16750", data=PORT_16750),
    OfDeviceId(compatible="ns16850", data=PORT_16850),
]


def of_platform_serial_driver() -> platform_driver:
    """A fresh ``struct platform_driver`` for one kernel."""
    return platform_driver(DRV_NAME, of_platform_serial_probe, of_platform_serial_remove,
                           of_match_table=of_platform_serial_table)


def of_platform_serial_init() -> int:
    """``module_platform_driver(of_platform_serial_driver)``."""
    return platform_driver_register(of_platform_serial_driver())


def serial8250_port(k: Kernel, line: int = 0) -> uart_8250_port | None:
    """The registered port ``ttyS<line>`` of kernel ``k``."""
    return _state(k).ports[line] if 0 <= line < NR_UARTS else None
