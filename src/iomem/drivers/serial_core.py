"""The serial core (drivers/tty/serial/serial_core.c, kernel/printk/printk.c consoles):
what the UART drivers share.

A UART driver fills a :class:`uart_port` (mapbase, membase, irq, uartclk,
iotype, line) with its :class:`uart_ops` and calls :func:`uart_add_one_port`,
which configures the port, prints ``uart_report_port``'s line
(``9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a
PL011 rev1``) and registers the port's console when it is the preferred one:
named by ``console=`` on the command line or, without one, by the tree's
``/chosen/stdout-path`` (``of_console_check``).

A port is used like a tty: :func:`uart_open` starts it (``startup``: the
driver claims its irq, enables the UART), ``write`` queues bytes that the
driver's transmit interrupt feeds to the FIFO as virtual time passes,
``read`` returns what the receive interrupt collected, ``close`` shuts it
down.  Console output goes through the driver's polled ``console_write``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..kernel.errno import EBUSY, EINVAL, ENODEV

if TYPE_CHECKING:
    from ..kernel.device import Device
    from ..kernel.kernel import Kernel

# include/linux/serial_core.h: port->iotype
UPIO_PORT, UPIO_HUB6, UPIO_MEM, UPIO_MEM32, UPIO_AU, UPIO_TSI, UPIO_MEM32BE, UPIO_MEM16 = (
    0, 1, 2, 3, 4, 5, 6, 7)
# port->flags
UPF_FIXED_PORT = 1 << 29
UPF_BOOT_AUTOCONF = 1 << 28
UPF_FIXED_TYPE = 1 << 27
UPF_SHARE_IRQ = 1 << 24
UPF_SKIP_TEST = 1 << 6
UPF_IOREMAP = 1 << 31
UPF_MAGIC_MULTIPLIER = 1 << 16
# include/uapi/linux/serial_core.h: port types
PORT_UNKNOWN = 0
PORT_8250, PORT_16450, PORT_16550, PORT_16550A = 1, 2, 3, 4
PORT_16750 = 8
PORT_16850 = 12
PORT_AMBA = 32

UART_XMIT_SIZE = 4096
WAKEUP_CHARS = 256


class uart_ops:  # noqa: N801 - the kernel's name
    """``struct uart_ops``: what a UART driver implements (each takes the port)."""

    def tx_empty(self, port: uart_port) -> bool:
        return True

    def set_mctrl(self, port: uart_port, mctrl: int) -> None:
        pass

    def start_tx(self, port: uart_port) -> None:
        pass

    def stop_tx(self, port: uart_port) -> None:
        pass

    def startup(self, port: uart_port) -> int:
        return 0

    def shutdown(self, port: uart_port) -> None:
        pass

    def set_termios(self, port: uart_port, baud: int, cflag_bits: int, parity: str,
                    stop: int) -> None:
        pass

    def type(self, port: uart_port) -> str | None:
        return None

    def config_port(self, port: uart_port, flags: int) -> None:
        pass

    def release_port(self, port: uart_port) -> None:
        pass

    def console_write(self, port: uart_port, data: bytes) -> None:
        pass

    def console_setup(self, port: uart_port, options: str | None) -> int:
        return 0


UART_CONFIG_TYPE = 1 << 0
UART_CONFIG_IRQ = 1 << 1


@dataclass(eq=False)
class uart_port:  # noqa: N801
    """``struct uart_port``: one port's registers, irq, clock and buffers."""

    ops: uart_ops
    dev: Device | None = None
    mapbase: int = 0
    mapsize: int = 0
    membase: Any = None
    iobase: int = 0
    irq: int = 0
    uartclk: int = 0
    fifosize: int = 1
    iotype: int = UPIO_MEM
    regshift: int = 0
    flags: int = 0
    type: int = PORT_UNKNOWN
    line: int = 0
    mctrl: int = 0
    private_data: Any = None
    #: what the tty layer queued for transmission (the circ buffer)
    xmit: deque[int] = field(default_factory=deque)
    #: what the receive path delivered (the flip buffer)
    rx: bytearray = field(default_factory=bytearray)
    icount_rx: int = 0
    icount_tx: int = 0
    icount_overrun: int = 0
    drv: uart_driver | None = None
    opened: bool = False
    baud: int = 0

    @property
    def name(self) -> str:
        """``ttyAMA0``: the driver's device name and the line."""
        return f"{self.drv.dev_name if self.drv else 'tty'}{self.line}"

    @property
    def kernel(self) -> Kernel:
        from ..kernel.kernel import current_kernel

        k = getattr(self.dev, "kernel", None)
        return k if k is not None else current_kernel()

    # -- the tty side --------------------------------------------------------------------

    def write(self, data: bytes | str, wait: bool = True) -> int:
        """Queue ``data`` (``tty_write``) and start the transmitter; with ``wait``,
        let virtual time pass until it has left the FIFO."""
        if isinstance(data, str):
            data = data.encode()
        if not self.opened:
            raise OSError(f"{self.name} is not open")
        k = self.kernel
        with k.active():
            room = UART_XMIT_SIZE - len(self.xmit)
            chunk = data[:room]
            self.xmit.extend(chunk)
            self.ops.start_tx(self)
            if wait:
                self.wait_until_sent()
        return len(chunk)

    def wait_until_sent(self, timeout_ms: int = 10_000) -> bool:
        """``uart_wait_until_sent``: sleep in 1 ms steps until the FIFO is empty."""
        k = self.kernel
        with k.active():
            for _ in range(timeout_ms):
                if not self.xmit and self.ops.tx_empty(self):
                    return True
                k.msleep(1)
        return not self.xmit

    def read(self, n: int = -1) -> bytes:
        """What has been received so far (``tty_read``, non-blocking)."""
        n = len(self.rx) if n < 0 else min(n, len(self.rx))
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out

    def close(self) -> None:
        uart_close(self)

    def __repr__(self) -> str:
        return f"<uart_port {self.name} at 0x{self.mapbase:x} irq {self.irq}>"


@dataclass(eq=False)
class uart_driver:  # noqa: N801
    """``struct uart_driver``: the name space of a family of ports (``ttyAMA``)."""

    driver_name: str
    dev_name: str
    nr: int
    cons: bool = True
    registered: bool = False


@dataclass(eq=False)
class console:  # noqa: N801
    """``struct console``: a port printk writes to."""

    name: str
    index: int
    port: uart_port
    options: str | None = None
    enabled: bool = False


class SerialState:
    """The registered ports and consoles of one kernel."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.ports: dict[str, uart_port] = {}
        self.consoles: list[console] = []
        self.drivers: list[uart_driver] = []


def serial_state(k: Kernel) -> SerialState:
    got = k.__dict__.get("_serial")
    if got is None:
        got = k.__dict__["_serial"] = SerialState(k)
    return got


def _kern() -> Kernel:
    from ..kernel.kernel import current_kernel

    return current_kernel()


def uart_register_driver(drv: uart_driver) -> int:
    st = serial_state(_kern())
    if drv in st.drivers:
        return -EBUSY
    st.drivers.append(drv)
    drv.registered = True
    return 0


def uart_unregister_driver(drv: uart_driver) -> None:
    st = serial_state(_kern())
    if drv in st.drivers:
        st.drivers.remove(drv)
    drv.registered = False


def uart_type(port: uart_port) -> str:
    return port.ops.type(port) or "unknown"


def uart_report_port(drv: uart_driver, port: uart_port) -> None:
    """The line every UART announces itself with (serial_core.c ``uart_report_port``)."""
    if port.iotype == UPIO_PORT:
        address = f"I/O 0x{port.iobase:x}"
    elif port.iotype == UPIO_HUB6:
        address = f"I/O 0x{port.iobase:x} offset 0x0"
    elif port.iotype in (UPIO_MEM, UPIO_MEM16, UPIO_MEM32, UPIO_MEM32BE, UPIO_AU, UPIO_TSI):
        address = f"MMIO 0x{port.mapbase:x}"
    else:
        address = "*unknown*"
    prefix = f"{port.dev.name}: " if port.dev is not None else ""
    _kern().printk_info(f"{prefix}{port.name} at {address} (irq = {port.irq}, base_baud = "
                        f"{port.uartclk // 16}) is a {uart_type(port)}")


def _preferred_console(k: Kernel, port: uart_port) -> tuple[bool, str | None]:
    """Is ``port`` the console? ``console=`` options win; without any, the tree's
    ``/chosen/stdout-path`` names it (``of_console_check``)."""
    words = [w[len("console="):] for w in k.cmdline.split() if w.startswith("console=")]
    if words:
        for w in words:
            name, _, options = w.partition(",")
            if name == port.name:
                return True, options or None
        return False, None
    from ..kernel.of import of_root

    tree = of_root(k)
    np = getattr(port.dev, "of_node", None)
    if tree is None or np is None or tree.chosen is None:
        return False, None
    stdout = tree.chosen.read_string("stdout-path") or tree.chosen.read_string(
        "linux,stdout-path")
    if not stdout:
        return False, None
    path, _, options = stdout.partition(":")
    if not path.startswith("/"):
        path = tree.aliases().get(path, "")
    return tree.find_node_by_path(path) is np, options or None


def register_console(port: uart_port, options: str | None) -> console | None:
    """Enable the port as a console (``register_console``): the driver's console setup
    programs the line, then printk says so."""
    k = _kern()
    st = serial_state(k)
    if any(c.port is port for c in st.consoles):
        return None
    con = console(port.drv.dev_name if port.drv else "tty", port.line, port, options)
    if port.ops.console_setup(port, options):
        return None
    con.enabled = True
    st.consoles.append(con)
    k.printk_info(f"printk: console [{con.name}{con.index}] enabled")
    return con


def unregister_console(port: uart_port) -> None:
    st = serial_state(_kern())
    st.consoles = [c for c in st.consoles if c.port is not port]


def uart_add_one_port(drv: uart_driver, port: uart_port) -> int:
    """Configure the port (``uart_configure_port``), announce it, make it the console
    when it is the preferred one, and register its tty."""
    k = _kern()
    st = serial_state(k)
    if port.line >= drv.nr:
        return -EINVAL
    port.drv = drv
    if port.name in st.ports:
        return -EINVAL
    flags = 0
    if port.flags & UPF_BOOT_AUTOCONF:
        if not port.flags & UPF_FIXED_TYPE:
            port.type = PORT_UNKNOWN
            flags |= UART_CONFIG_TYPE
        port.ops.config_port(port, flags)
    if port.type != PORT_UNKNOWN:
        uart_report_port(drv, port)
        port.ops.set_mctrl(port, port.mctrl & 0x002)  # TIOCM_DTR
        if drv.cons:
            preferred, options = _preferred_console(k, port)
            if preferred:
                register_console(port, options)
    st.ports[port.name] = port
    return 0


def uart_remove_one_port(drv: uart_driver, port: uart_port) -> int:
    k = _kern()
    st = serial_state(k)
    if st.ports.get(port.name) is not port:
        return -EINVAL
    if port.opened:
        uart_close(port)
    unregister_console(port)
    if port.type != PORT_UNKNOWN:
        port.ops.release_port(port)
    port.type = PORT_UNKNOWN
    del st.ports[port.name]
    return 0


def uart_open(k: Kernel, name: str) -> uart_port:
    """Open ``/dev/<name>`` (``uart_port_startup``): the driver's startup runs once."""
    st = serial_state(k)
    port = st.ports.get(name)
    if port is None:
        raise OSError(ENODEV, f"no such tty: {name} (registered: "
                              f"{', '.join(sorted(st.ports)) or 'none'})")
    if not port.opened:
        with k.active():
            ret = port.ops.startup(port)
            if ret:
                raise OSError(-ret, f"{name}: startup failed ({ret})")
            port.opened = True
            con = next((c for c in st.consoles if c.port is port), None)
            baud = port.baud or 9600
            if con is None:
                port.ops.set_termios(port, baud, 8, "n", 1)
    return port


def uart_close(port: uart_port) -> None:
    if not port.opened:
        return
    k = port.kernel
    with k.active():
        port.ops.shutdown(port)
    port.opened = False
    port.xmit.clear()


def uart_console_write(port: uart_port, data: bytes, putchar: Any) -> None:
    """``uart_console_write``: newline becomes CR LF, one ``putchar`` per byte."""
    for ch in data:
        if ch == 0x0A:
            putchar(port, 0x0D)
        putchar(port, ch)


def uart_insert_char(port: uart_port, ch: int) -> None:
    port.rx.append(ch & 0xFF)
    port.icount_rx += 1


def console_write(k: Kernel, text: str | bytes) -> None:
    """Write to every enabled console (what printk's console drivers do)."""
    data = text.encode() if isinstance(text, str) else text
    with k.active():
        for con in serial_state(k).consoles:
            if con.enabled:
                con.port.ops.console_write(con.port, data)


def uart_parse_options(options: str) -> tuple[int, str, int, str]:
    """``115200n8r`` -> (baud, parity, bits, flow)."""
    digits = ""
    rest = options
    while rest and rest[0].isdigit():
        digits += rest[0]
        rest = rest[1:]
    baud = int(digits) if digits else 9600
    parity = rest[0] if rest else "n"
    bits = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 8
    flow = rest[2] if len(rest) > 2 else "n"
    return baud, parity, bits, flow


__all__ = ["PORT_16550", "PORT_16550A", "PORT_8250", "PORT_AMBA", "PORT_UNKNOWN",
           "UPF_BOOT_AUTOCONF", "UPF_FIXED_PORT", "UPF_FIXED_TYPE", "UPF_IOREMAP",
           "UPF_SHARE_IRQ", "UPIO_MEM", "UPIO_MEM16", "UPIO_MEM32", "UPIO_MEM32BE", "UPIO_PORT",
           "console", "console_write", "register_console", "serial_state", "uart_add_one_port",
           "uart_close", "uart_console_write", "uart_driver", "uart_insert_char", "uart_open",
           "uart_ops", "uart_parse_options", "uart_port", "uart_register_driver",
           "uart_remove_one_port", "uart_report_port", "uart_type", "uart_unregister_driver",
           "unregister_console"]
