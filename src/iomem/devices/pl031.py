"""ARM PrimeCell real-time clock (PL031), after the PL031 Technical Reference Manual.

A 32-bit seconds counter running on the machine's virtual clock: RTCDR
reads ``epoch + whole seconds of virtual time`` (plus whatever RTCLR
loaded).  Writing RTCMR arms a match: when the counter reaches it, RTCRIS
is set, and with RTCIMSC the interrupt output is raised until RTCICR.

RTCCR bit 0 starts the counter; once started, writing 0 does not stop it
(only a reset does).  A real board's RTC is started by firmware and kept in
an always-on domain, so the model starts running unless ``started=False``.
"""

from __future__ import annotations

from ..machine import Timer
from ..regs import Field, Register
from .primecell import PrimeCell

NS = 1_000_000_000
MASK32 = 0xFFFFFFFF


def pl031_registers() -> list[Register]:
    return [
        Register("DR", 0x00, access="ro", description="data: the seconds counter"),
        Register("MR", 0x04, description="match"),
        Register("LR", 0x08, description="load: writing sets the counter"),
        Register("CR", 0x0C, [Field("RTCEN", 0)], description="control: 1 starts the RTC"),
        Register("IMSC", 0x10, [Field("RTCIMSC", 0)], description="interrupt mask"),
        Register("RIS", 0x14, [Field("RTCRIS", 0)], access="ro", description="raw interrupt"),
        Register("MIS", 0x18, [Field("RTCMIS", 0)], access="ro", description="masked interrupt"),
        Register("ICR", 0x1C, [Field("RTCICR", 0)], access="wo", description="interrupt clear"),
    ]


class PL031(PrimeCell):
    """PL031 RTC.  ``epoch`` is the counter value at virtual time 0; ``revision``
    the periphid revision nibble (Linux matches 0x00041031 under mask 0x000fffff)."""

    name = "pl031"
    compatible = ("arm,pl031", "arm,primecell")

    def __init__(self, name: str | None = None, *, epoch: int = 0, started: bool = True,
                 revision: int = 0) -> None:
        super().__init__(name)
        self.periphid = 0x00041031 | ((revision & 0xF) << 20)
        self.epoch = epoch & MASK32
        self.started_at_reset = started
        self.regs = self._make_regs("pl031", pl031_registers(), on_read={
            "DR": self.count, "MIS": lambda: self.regs["RIS"] & self.regs["IMSC"],
        }, on_write={
            "MR": lambda v: self._arm(), "LR": self._load, "CR": self._control,
            "IMSC": lambda v: self._update(), "ICR": self._clear,
        })
        self._timer: Timer | None = None
        self.reset()

    def reset(self) -> None:
        if getattr(self, "_timer", None) is not None:
            self._timer.cancel()
        self._timer = None
        self.regs.reset()
        self._running = self.started_at_reset
        self.regs["CR"] = int(self._running)
        # counter = (offset + whole seconds of virtual time) mod 2^32 while running
        self._offset = self.epoch
        self._frozen = self.epoch
        self._update()

    def _seconds(self) -> int:
        clock = self.clock
        return clock.now // NS if clock is not None else 0

    def count(self) -> int:
        """The counter now (what RTCDR reads)."""
        if not self._running:
            return self._frozen
        return (self._offset + self._seconds()) & MASK32

    def _load(self, value: int) -> None:
        if self._running:
            self._offset = (value - self._seconds()) & MASK32
        else:
            self._frozen = value & MASK32
        self._arm()

    def _control(self, value: int) -> None:
        if self._running:
            self.regs["CR"] = 1  # started for good until reset
            return
        if value & 1:
            self._offset = (self._frozen - self._seconds()) & MASK32
            self._running = True
            self._arm()

    def _arm(self) -> None:
        """Schedule the match interrupt for the second the counter reaches RTCMR."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._running:
            return
        ticks = (self.regs["MR"] - self.count()) & MASK32
        if ticks == 0:
            self._match()
            return
        clock = self.clock
        if clock is not None:
            self._timer = clock.at((self._seconds() + ticks) * NS, self._match)

    def _match(self) -> None:
        self._timer = None
        self.regs["RIS"] = 1
        self._update()

    def _clear(self, value: int) -> None:
        if value & 1:
            self.regs["RIS"] = 0
        self._update()

    def _update(self) -> None:
        self.set_irq(bool(self.regs["RIS"] & self.regs["IMSC"]))
