"""The ARM PL011 UART driver, written like drivers/tty/serial/amba-pl011.c of Linux 6.1.

``pl011_init`` (an ``arch_initcall``) prints ``Serial: AMBA PL011 UART driver``
and registers the ``uart-pl011`` AMBA driver, which matches PrimeCell ID
0x00041011 under mask 0x000fffff.  ``pl011_probe`` takes the first free port
number (or the ``serialN`` alias), gets the ``uartclk`` clock,
``devm_ioremap_resource``\\ s the device's resource (so /proc/iomem shows
``9000000.pl011 pl011@9000000`` inside the AMBA bus's ``pl011@9000000``),
masks and clears every interrupt, and adds the port: ``ttyAMA0 at MMIO
0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1``, then ``printk:
console [ttyAMA0] enabled`` when it is the console.

Opening the tty (``uart_open(k, "ttyAMA0")``) runs ``pl011_startup``: the
interrupt is requested (``uart-pl011`` in /proc/interrupts), the UART enabled
with receive interrupts; writes are fed to the FIFO from the transmit
interrupt, received characters are drained by the receive interrupt.
Registers are 16-bit accesses (``readw_relaxed``), as the ARM vendor data says.
"""

from __future__ import annotations

from typing import Any

from ..kernel import readw_relaxed, writew_relaxed
from ..kernel.amba import (
    amba_device,
    amba_driver,
    amba_driver_register,
    amba_get_drvdata,
    amba_id,
    amba_rev,
    amba_set_drvdata,
)
from ..kernel.clk import clk_disable_unprepare, clk_get_rate, clk_prepare_enable, devm_clk_get
from ..kernel.device import dev_info, dev_warn
from ..kernel.devres import devm_ioremap_resource
from ..kernel.errno import EBUSY, IS_ERR, PTR_ERR
from ..kernel.irq import IRQ_HANDLED, IRQ_NONE, IRQF_SHARED, free_irq, request_irq
from ..kernel.kernel import Kernel, current_kernel
from ..kernel.of import of_alias_get_id
from .serial_core import (
    PORT_AMBA,
    UART_CONFIG_TYPE,
    UPF_BOOT_AUTOCONF,
    UPIO_MEM,
    UPIO_MEM32,
    uart_add_one_port,
    uart_console_write,
    uart_driver,
    uart_insert_char,
    uart_ops,
    uart_parse_options,
    uart_port,
    uart_register_driver,
    uart_remove_one_port,
    uart_unregister_driver,
)

DRV_NAME = "uart-pl011"
UART_NR = 14
SERIAL_AMBA_MAJOR = 204

# include/linux/amba/serial.h
REG_DR, REG_RSR, REG_FR, REG_ILPR = 0x00, 0x04, 0x18, 0x20
REG_IBRD, REG_FBRD, REG_LCRH, REG_CR = 0x24, 0x28, 0x2C, 0x30
REG_IFLS, REG_IMSC, REG_RIS, REG_MIS, REG_ICR, REG_DMACR = 0x34, 0x38, 0x3C, 0x40, 0x44, 0x48

UART01x_FR_BUSY, UART01x_FR_RXFE, UART01x_FR_TXFF, UART011_FR_TXFE = 0x008, 0x010, 0x020, 0x080
UART01x_FR_MODEM_ANY = 0x001 | 0x002 | 0x004 | 0x100
UART01x_CR_UARTEN, UART011_CR_TXE, UART011_CR_RXE = 0x0001, 0x0100, 0x0200
UART011_CR_DTR, UART011_CR_RTS, UART011_CR_CTSEN = 0x0400, 0x0800, 0x8000
UART01x_LCRH_BRK, UART01x_LCRH_PEN, UART01x_LCRH_EPS = 0x01, 0x02, 0x04
UART01x_LCRH_STP2, UART01x_LCRH_FEN = 0x08, 0x10
UART01x_LCRH_WLEN_5, UART01x_LCRH_WLEN_6, UART01x_LCRH_WLEN_7, UART01x_LCRH_WLEN_8 = (
    0x00, 0x20, 0x40, 0x60)
UART011_RIMIS, UART011_CTSMIS, UART011_DCDMIS, UART011_DSRMIS = 1 << 0, 1 << 1, 1 << 2, 1 << 3
UART011_RXIS, UART011_TXIS, UART011_RTIS = 1 << 4, 1 << 5, 1 << 6
UART011_FEIS, UART011_PEIS, UART011_BEIS, UART011_OEIS = 1 << 7, 1 << 8, 1 << 9, 1 << 10
UART011_RXIM, UART011_TXIM, UART011_RTIM = UART011_RXIS, UART011_TXIS, UART011_RTIS
UART011_IFLS_RX4_8, UART011_IFLS_TX4_8 = 2 << 3, 2 << 0
AMBA_ISR_PASS_LIMIT = 256


class vendor_data:  # noqa: N801 - the kernel's name
    """``struct vendor_data`` of the ARM PL011 (``vendor_arm``)."""

    ifls = UART011_IFLS_RX4_8 | UART011_IFLS_TX4_8
    fr_busy = UART01x_FR_BUSY
    access_32b = False
    always_enabled = False
    fixed_options = False

    @staticmethod
    def get_fifosize(dev: amba_device) -> int:
        """``get_fifosize_arm``: 32 deep from r1p5 (revision 3), 16 before."""
        return 16 if amba_rev(dev) < 3 else 32


vendor_arm = vendor_data()


class uart_amba_port(uart_port):  # noqa: N801
    """``struct uart_amba_port``: the port plus the PL011's own state."""

    def __init__(self, ops: uart_ops) -> None:
        super().__init__(ops)
        self.vendor: vendor_data = vendor_arm
        self.clk: Any = None
        self.im = 0  # interrupt mask
        self.old_status = 0
        self.old_cr = 0
        self.lcrh = 0
        self.type_name = ""


class _State:
    """``amba_ports[]`` and ``amba_reg`` of one kernel."""

    def __init__(self) -> None:
        self.ports: list[uart_amba_port | None] = [None] * UART_NR
        self.reg = uart_driver("ttyAMA", "ttyAMA", UART_NR)
        self.seen_with_alias = False
        self.seen_without_alias = False


def _state(k: Kernel) -> _State:
    got = k.__dict__.get("_pl011")
    if got is None:
        got = k.__dict__["_pl011"] = _State()
    return got


def pl011_read(uap: uart_amba_port, reg: int) -> int:
    addr = uap.membase + reg
    return readw_relaxed(addr) if uap.iotype != UPIO_MEM32 else _readl(addr)


def pl011_write(val: int, uap: uart_amba_port, reg: int) -> None:
    addr = uap.membase + reg
    if uap.iotype == UPIO_MEM32:
        _writel(val, addr)
    else:
        writew_relaxed(val & 0xFFFF, addr)


def _readl(addr: Any) -> int:
    from ..kernel import readl_relaxed

    return readl_relaxed(addr)


def _writel(val: int, addr: Any) -> None:
    from ..kernel import writel_relaxed

    writel_relaxed(val, addr)


# -- the uart_ops ----------------------------------------------------------------------------

class pl011_ops(uart_ops):  # noqa: N801 - amba_pl011_pops
    def tx_empty(self, port: uart_port) -> bool:
        uap: uart_amba_port = port  # type: ignore[assignment]
        status = pl011_read(uap, REG_FR)
        return not status & (uap.vendor.fr_busy | UART01x_FR_TXFF)

    def set_mctrl(self, port: uart_port, mctrl: int) -> None:
        uap: uart_amba_port = port  # type: ignore[assignment]
        cr = pl011_read(uap, REG_CR)
        cr = (cr | UART011_CR_DTR) if mctrl & 0x002 else (cr & ~UART011_CR_DTR)
        cr = (cr | UART011_CR_RTS) if mctrl & 0x004 else (cr & ~UART011_CR_RTS)
        pl011_write(cr, uap, REG_CR)

    def stop_tx(self, port: uart_port) -> None:
        uap: uart_amba_port = port  # type: ignore[assignment]
        uap.im &= ~UART011_TXIM
        pl011_write(uap.im, uap, REG_IMSC)

    def start_tx(self, port: uart_port) -> None:
        """``pl011_start_tx_pio``: fill the FIFO, then let the TX interrupt refill it."""
        uap: uart_amba_port = port  # type: ignore[assignment]
        if pl011_tx_chars(uap, False):
            uap.im |= UART011_TXIM
            pl011_write(uap.im, uap, REG_IMSC)

    def startup(self, port: uart_port) -> int:
        uap: uart_amba_port = port  # type: ignore[assignment]
        ret = pl011_hwinit(uap)
        if ret:
            return ret
        pl011_write(uap.im, uap, REG_IMSC)
        ret = request_irq(uap.irq, pl011_int, IRQF_SHARED, DRV_NAME, uap)
        if ret:
            clk_disable_unprepare(uap.clk)
            return ret
        pl011_write(uap.vendor.ifls, uap, REG_IFLS)
        cr = pl011_read(uap, REG_CR)
        cr &= UART011_CR_RTS | UART011_CR_DTR
        cr |= UART01x_CR_UARTEN | UART011_CR_RXE | UART011_CR_TXE
        pl011_write(cr, uap, REG_CR)
        uap.old_status = pl011_read(uap, REG_FR) & UART01x_FR_MODEM_ANY
        pl011_dma_probe(uap)
        pl011_enable_interrupts(uap)
        return 0

    def shutdown(self, port: uart_port) -> None:
        uap: uart_amba_port = port  # type: ignore[assignment]
        uap.im = 0
        pl011_write(uap.im, uap, REG_IMSC)
        pl011_write(0xFFFF, uap, REG_ICR)
        free_irq(uap.irq, uap)
        # pl011_disable_uart: keep the console's transmitter on
        cr = pl011_read(uap, REG_CR)
        uap.old_cr = cr
        cr &= UART011_CR_RTS | UART011_CR_DTR
        cr |= UART01x_CR_UARTEN | UART011_CR_TXE
        pl011_write(cr, uap, REG_CR)
        lcrh = pl011_read(uap, REG_LCRH) & ~(UART01x_LCRH_BRK | UART01x_LCRH_FEN)
        pl011_write(lcrh, uap, REG_LCRH)
        clk_disable_unprepare(uap.clk)

    def set_termios(self, port: uart_port, baud: int, cflag_bits: int, parity: str,
                    stop: int) -> None:
        """Divisor (in 64ths) and line control; LCR_H is written after the divisors,
        which it latches."""
        uap: uart_amba_port = port  # type: ignore[assignment]
        if not uap.uartclk:
            return
        if baud > uap.uartclk // 16:
            quot = (uap.uartclk * 8 + baud // 2) // baud
        else:
            quot = (uap.uartclk * 4 + baud // 2) // baud
        lcr_h = {5: UART01x_LCRH_WLEN_5, 6: UART01x_LCRH_WLEN_6,
                 7: UART01x_LCRH_WLEN_7}.get(cflag_bits, UART01x_LCRH_WLEN_8)
        if stop == 2:
            lcr_h |= UART01x_LCRH_STP2
        if parity in ("e", "o"):
            lcr_h |= UART01x_LCRH_PEN
            if parity == "e":
                lcr_h |= UART01x_LCRH_EPS
        if uap.fifosize > 1:
            lcr_h |= UART01x_LCRH_FEN
        old_cr = pl011_read(uap, REG_CR)
        pl011_write(0, uap, REG_CR)
        pl011_write(quot & 0x3F, uap, REG_FBRD)
        pl011_write(quot >> 6, uap, REG_IBRD)
        pl011_write(lcr_h, uap, REG_LCRH)
        uap.lcrh = lcr_h
        pl011_write(old_cr, uap, REG_CR)
        uap.baud = baud

    def type(self, port: uart_port) -> str | None:
        uap: uart_amba_port = port  # type: ignore[assignment]
        return uap.type_name if uap.type == PORT_AMBA else None

    def config_port(self, port: uart_port, flags: int) -> None:
        if flags & UART_CONFIG_TYPE:
            port.type = PORT_AMBA

    def console_write(self, port: uart_port, data: bytes) -> None:
        """``pl011_console_write``: transmitter on, poll TXFF per character, wait for
        idle, restore CR."""
        uap: uart_amba_port = port  # type: ignore[assignment]
        clk_prepare_enable(uap.clk)
        old_cr = pl011_read(uap, REG_CR)
        new_cr = (old_cr & ~UART011_CR_CTSEN) | UART01x_CR_UARTEN | UART011_CR_TXE
        pl011_write(new_cr, uap, REG_CR)
        uart_console_write(port, data, pl011_console_putchar)
        while pl011_read(uap, REG_FR) & uap.vendor.fr_busy:
            pass
        pl011_write(old_cr, uap, REG_CR)
        clk_disable_unprepare(uap.clk)

    def console_setup(self, port: uart_port, options: str | None) -> int:
        """``pl011_console_setup``: the clock rate, then the options given, or what the
        UART already runs at when it is enabled, or 38400 8N1."""
        uap: uart_amba_port = port  # type: ignore[assignment]
        uap.uartclk = clk_get_rate(uap.clk)
        baud, parity, bits = 38400, "n", 8
        if options:
            baud, parity, bits, _ = uart_parse_options(options)
        elif pl011_read(uap, REG_CR) & UART01x_CR_UARTEN:
            lcr_h = pl011_read(uap, REG_LCRH)
            parity = ("e" if lcr_h & UART01x_LCRH_EPS else "o") \
                if lcr_h & UART01x_LCRH_PEN else "n"
            bits = 7 if (lcr_h & 0x60) == UART01x_LCRH_WLEN_7 else 8
            ibrd, fbrd = pl011_read(uap, REG_IBRD), pl011_read(uap, REG_FBRD)
            if 64 * ibrd + fbrd:
                baud = uap.uartclk * 4 // (64 * ibrd + fbrd)
        self.set_termios(port, baud, bits, parity, 1)
        return 0


amba_pl011_pops = pl011_ops()


def pl011_console_putchar(port: uart_port, ch: int) -> None:
    uap: uart_amba_port = port  # type: ignore[assignment]
    while pl011_read(uap, REG_FR) & UART01x_FR_TXFF:
        pass
    pl011_write(ch, uap, REG_DR)


def pl011_hwinit(uap: uart_amba_port) -> int:
    ret = clk_prepare_enable(uap.clk)
    if ret:
        return ret
    uap.uartclk = clk_get_rate(uap.clk)
    pl011_write(UART011_OEIS | UART011_BEIS | UART011_PEIS | UART011_FEIS | UART011_RTIS
                | UART011_RXIS, uap, REG_ICR)
    uap.im = pl011_read(uap, REG_IMSC)
    pl011_write(UART011_RTIM | UART011_RXIM, uap, REG_IMSC)
    return 0


def pl011_dma_probe(uap: uart_amba_port) -> None:
    """No DMA engine is described for the port: the driver says so and uses PIO."""
    if not getattr(uap, "dma_probed", False):
        uap.dma_probed = True  # type: ignore[attr-defined]
        dev_info(uap.dev, "no DMA platform data")


def pl011_enable_interrupts(uap: uart_amba_port) -> None:
    pl011_write(UART011_RTIS | UART011_RXIS, uap, REG_ICR)
    for _ in range(uap.fifosize * 2):  # drain what came in before the irq was there
        if pl011_read(uap, REG_FR) & UART01x_FR_RXFE:
            break
        pl011_read(uap, REG_DR)
    uap.im = UART011_RTIM | UART011_RXIM
    pl011_write(uap.im, uap, REG_IMSC)


def pl011_rx_chars(uap: uart_amba_port) -> None:
    """``pl011_fifo_to_tty``: move what the FIFO holds into the flip buffer."""
    for _ in range(256):
        if pl011_read(uap, REG_FR) & UART01x_FR_RXFE:
            break
        ch = pl011_read(uap, REG_DR)
        if ch & 0x800:  # UART011_DR_OE
            uap.icount_overrun += 1
        uart_insert_char(uap, ch & 0xFF)


def pl011_tx_chars(uap: uart_amba_port, from_irq: bool) -> bool:
    """Feed the FIFO: half a FIFO per interrupt, or until TXFF when starting."""
    xmit = uap.xmit
    if not xmit:
        uap.ops.stop_tx(uap)
        return False
    count = uap.fifosize >> 1
    while xmit:
        if from_irq:
            if count == 0:
                break
            count -= 1
            if count == 0 and pl011_read(uap, REG_FR) & UART01x_FR_TXFF:
                break
        elif pl011_read(uap, REG_FR) & UART01x_FR_TXFF:
            break
        pl011_write(xmit.popleft(), uap, REG_DR)
        uap.icount_tx += 1
    if not xmit:
        uap.ops.stop_tx(uap)
        return False
    return True


def pl011_int(irq: int, dev_id: Any) -> int:
    """The interrupt handler: acknowledge, receive, transmit, until quiet."""
    uap: uart_amba_port = dev_id
    status = pl011_read(uap, REG_RIS) & uap.im
    if not status:
        return IRQ_NONE
    for _ in range(AMBA_ISR_PASS_LIMIT + 1):
        pl011_write(status & ~(UART011_TXIS | UART011_RTIS | UART011_RXIS), uap, REG_ICR)
        if status & (UART011_RTIS | UART011_RXIS):
            pl011_rx_chars(uap)
        if status & UART011_TXIS:
            pl011_tx_chars(uap, True)
        status = pl011_read(uap, REG_RIS) & uap.im
        if not status:
            break
    return IRQ_HANDLED


# -- probe / remove -----------------------------------------------------------------------------

def pl011_find_free_port(st: _State) -> int:
    for i, p in enumerate(st.ports):
        if p is None:
            return i
    return -EBUSY


def pl011_probe_dt_alias(index: int, dev: amba_device, st: _State) -> int:
    np = dev.of_node
    if np is None or not hasattr(np, "match_string"):
        return index
    ret = of_alias_get_id(np, "serial")
    if ret < 0:
        st.seen_without_alias = True
        ret = index
    else:
        st.seen_with_alias = True
        if ret >= UART_NR or st.ports[ret] is not None:
            dev_warn(dev, f"requested serial port {ret}  not available.")
            ret = index
    if st.seen_with_alias and st.seen_without_alias:
        dev_warn(dev, "aliased and non-aliased serial devices found in device tree. Serial "
                      "port enumeration may be unpredictable.")
    return ret


def pl011_setup_port(dev: amba_device, uap: uart_amba_port, index: int, st: _State) -> int:
    base = devm_ioremap_resource(dev, dev.res)
    if IS_ERR(base):
        return PTR_ERR(base)
    index = pl011_probe_dt_alias(index, dev, st)
    uap.dev = dev
    uap.mapbase = dev.res.start
    uap.membase = base
    uap.fifosize = uap.vendor.get_fifosize(dev)
    uap.flags = UPF_BOOT_AUTOCONF
    uap.line = index
    st.ports[index] = uap
    return 0


def pl011_register_port(uap: uart_amba_port, st: _State) -> int:
    pl011_write(0, uap, REG_IMSC)  # mask and clear everything from this UART
    pl011_write(0xFFFF, uap, REG_ICR)
    if not st.reg.registered:
        ret = uart_register_driver(st.reg)
        if ret < 0:
            from ..kernel.device import dev_err

            dev_err(uap.dev, "Failed to register AMBA-PL011 driver")
            st.ports = [None if p is uap else p for p in st.ports]
            return ret
    ret = uart_add_one_port(st.reg, uap)
    if ret:
        pl011_unregister_port(uap, st)
    return ret


def pl011_unregister_port(uap: uart_amba_port, st: _State) -> None:
    st.ports = [None if p is uap else p for p in st.ports]
    if not any(st.ports):
        uart_unregister_driver(st.reg)


def pl011_probe(dev: amba_device, id: amba_id) -> int:
    st = _state(dev.kernel or current_kernel())
    portnr = pl011_find_free_port(st)
    if portnr < 0:
        return portnr
    uap = uart_amba_port(amba_pl011_pops)
    uap.clk = devm_clk_get(dev, None)
    if IS_ERR(uap.clk):
        return PTR_ERR(uap.clk)
    uap.vendor = id.data if isinstance(id.data, vendor_data) else vendor_arm
    uap.iotype = UPIO_MEM32 if uap.vendor.access_32b else UPIO_MEM
    uap.irq = dev.irq[0]
    uap.type_name = f"PL011 rev{amba_rev(dev)}"
    ret = pl011_setup_port(dev, uap, portnr, st)
    if ret:
        return ret
    amba_set_drvdata(dev, uap)
    return pl011_register_port(uap, st)


def pl011_remove(dev: amba_device) -> None:
    uap: uart_amba_port = amba_get_drvdata(dev)
    st = _state(dev.kernel or current_kernel())
    uart_remove_one_port(st.reg, uap)
    pl011_unregister_port(uap, st)


pl011_ids = [amba_id(0x00041011, 0x000FFFFF, vendor_arm), amba_id(0, 0)]


def pl011_driver() -> amba_driver:
    """A fresh ``struct amba_driver`` for one kernel."""
    return amba_driver(DRV_NAME, pl011_probe, pl011_remove, pl011_ids)


def pl011_init() -> int:
    """``arch_initcall(pl011_init)``."""
    k = current_kernel()
    k.printk_info("Serial: AMBA PL011 UART driver")
    return amba_driver_register(pl011_driver())


def pl011_port(k: Kernel, line: int = 0) -> uart_amba_port | None:
    """The bound port ``ttyAMA<line>`` of kernel ``k`` (None if there is none)."""
    return _state(k).ports[line] if 0 <= line < UART_NR else None
