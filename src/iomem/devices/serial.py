"""What the UART models share: the console, the transmit shift register on the
virtual clock, and input paced at the line rate.

A character written to a UART's transmit FIFO moves to the shift register
when the transmitter is free and leaves the wire one frame time later (start
bit, data bits, parity, stop bits at the programmed baud rate).  It then
lands in :attr:`SerialCore.console` and goes to :attr:`SerialCore.on_tx`.
A baud divisor of 0 (never programmed) is taken as an infinitely fast line,
so early output from code that never set the divisor is not lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ..machine import Timer, VirtualClock

BREAK = -1  # a received break condition instead of a character


class SerialCore:
    """Console buffer, transmitter and paced receive line for a UART model.

    The model supplies ``_frame_ns`` (0 = instant), ``_tx_enabled``,
    ``_loopback``, ``_tx_left_fifo`` (a character moved to the shift
    register), ``_tx_all_sent`` (shift register and FIFO empty) and
    ``_rx_char(ch)`` (a character, or :data:`BREAK`, arrived).
    """

    clock: VirtualClock | None

    def _serial_init(self) -> None:
        #: every byte the UART put on the wire
        self.console = bytearray()
        #: called with each transmitted byte
        self.on_tx: Callable[[int], None] | None = None
        self._tx_fifo: deque[int] = deque()
        self._tx_shift: int | None = None
        self._tx_timer: Timer | None = None
        self._rx_line: deque[int] = deque()
        self._rx_timer: Timer | None = None

    def _serial_reset(self) -> None:
        for t in (self._tx_timer, self._rx_timer):
            if t is not None:
                t.cancel()
        self._tx_fifo.clear()
        self._tx_shift = None
        self._tx_timer = None
        self._rx_line.clear()
        self._rx_timer = None

    # -- hooks the model provides ------------------------------------------------

    def _frame_ns(self) -> int:
        raise NotImplementedError

    def _tx_enabled(self) -> bool:
        return True

    def _loopback(self) -> bool:
        return False

    def _tx_left_fifo(self) -> None:
        """A character moved from the FIFO into the shift register."""

    def _tx_all_sent(self) -> None:
        """The last character left the shift register and the FIFO is empty."""

    def _rx_char(self, ch: int) -> None:
        raise NotImplementedError

    # -- console ------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The console output as text (UTF-8, undecodable bytes replaced)."""
        return self.console.decode("utf-8", errors="replace")

    def clear_console(self) -> None:
        self.console.clear()

    @property
    def tx_busy(self) -> bool:
        return self._tx_shift is not None or bool(self._tx_fifo)

    # -- transmitter ----------------------------------------------------------------

    def _tx_kick(self, sent: bool = False) -> None:
        """Start the next character if the shift register is free; ``sent`` says a
        character just left the wire (so "all sent" may be reported)."""
        while self._tx_shift is None and self._tx_fifo and self._tx_enabled():
            self._tx_shift = self._tx_fifo.popleft()
            self._tx_left_fifo()
            ns = self._frame_ns()
            if ns > 0 and self.clock is not None:
                self._tx_timer = self.clock.after(ns, self._tx_finish)
                return
            self._tx_send()
            sent = True
        if sent and self._tx_shift is None and not self._tx_fifo:
            self._tx_all_sent()

    def _tx_send(self) -> None:
        ch = self._tx_shift
        self._tx_shift = None
        if ch is None:
            return
        if self._loopback():
            self._rx_char(ch)
        else:
            self.console.append(ch)
            if self.on_tx is not None:
                self.on_tx(ch)

    def _tx_finish(self) -> None:
        self._tx_timer = None
        self._tx_send()
        self._tx_kick(sent=True)

    # -- receive line ----------------------------------------------------------------

    def inject(self, data: bytes | str) -> None:
        """Characters arriving on the receive line, one frame time apart (all at
        once on an instant line).  What the receiver cannot take is lost as the
        hardware loses it (overrun)."""
        if isinstance(data, str):
            data = data.encode()
        self._rx_line.extend(data)
        self._rx_pump()

    def inject_break(self) -> None:
        """A break condition on the receive line."""
        self._rx_line.append(BREAK)
        self._rx_pump()

    @property
    def rx_pending(self) -> int:
        """Characters injected that have not arrived yet."""
        return len(self._rx_line)

    def _rx_pump(self) -> None:
        if self._rx_timer is not None:
            return
        ns = self._frame_ns()
        if ns <= 0 or self.clock is None:
            while self._rx_line:
                self._rx_char(self._rx_line.popleft())
            return
        self._rx_timer = self.clock.after(ns, self._rx_arrive)

    def _rx_arrive(self) -> None:
        self._rx_timer = None
        if self._rx_line:
            self._rx_char(self._rx_line.popleft())
        if self._rx_line:
            self._rx_pump()
