"""ARM dual-input timer (SP804), after the SP804 Technical Reference Manual (DDI 0271).

Two down-counters, at 0x00 and 0x20, each clocked by TIMCLK (``clock_hz``,
1 MHz by default) through a prescaler of 1, 16 or 256, in one of three
modes: free-running (wraps to 0xFFFFFFFF or 0xFFFF), periodic (reloads
from TimerXLoad) and one-shot (stops at zero).  Reaching zero sets the raw
interrupt; with IntEnable it drives the output until TimerXIntClr.

Counters are not stepped: a counter keeps (value, time) at its last change
and its value now is computed from the virtual clock when read; the next
zero is one ``clock.after`` timer.  Writing TimerXLoad restarts the count
at once; TimerXBGLoad changes only the reload value.  In 16-bit mode only
the low half counts; the high half keeps what it held (the TRM warns that
it is not cleared).

Outputs: 0 = TIMINTC (combined), 1 = TIMINT1, 2 = TIMINT2.  A device tree
with one interrupt wires output 0; with two, outputs 1 and 2.
"""

from __future__ import annotations

from typing import Any

from ..machine import Timer
from ..regs import Field, Register
from .dtprops import Props, prop_int
from .primecell import PrimeCell

NS = 1_000_000_000
ONESHOT, SIZE32, IE, PERIODIC, ENABLE = 1, 2, 1 << 5, 1 << 6, 1 << 7
_PRESCALE = (1, 16, 256, 256)  # 0b11 is undefined in the TRM; the model divides by 256


def sp804_registers() -> list[Register]:
    regs: list[Register] = []
    for n, base in ((1, 0x00), (2, 0x20)):
        t = f"Timer{n}"
        regs += [
            Register(f"{t}Load", base + 0x00, description="load: restarts the count"),
            Register(f"{t}Value", base + 0x04, access="ro", reset=0xFFFFFFFF,
                     description="current count"),
            Register(f"{t}Control", base + 0x08, [
                Field("OneShot", 0), Field("TimerSize", 1, values={0: "bits16", 1: "bits32"}),
                Field("TimerPre", 2, 2, values={0: "div1", 1: "div16", 2: "div256"}),
                Field("IntEnable", 5), Field("TimerMode", 6, values={0: "free", 1: "periodic"}),
                Field("TimerEn", 7)], reset=0x20, description="control"),
            Register(f"{t}IntClr", base + 0x0C, access="wo", description="any write clears"),
            Register(f"{t}RIS", base + 0x10, [Field("RIS", 0)], access="ro"),
            Register(f"{t}MIS", base + 0x14, [Field("MIS", 0)], access="ro"),
            Register(f"{t}BGLoad", base + 0x18, description="background load: next reload"),
        ]
    regs += [
        Register("TimerITCR", 0xF00, [Field("ITEN", 0)], description="integration test mode"),
        Register("TimerITOP", 0xF04, [Field("TIMINT1", 0), Field("TIMINT2", 1)], access="wo",
                 description="integration test outputs"),
    ]
    return regs


class _Counter:
    """One of the two timers: value computed from (base value, base time)."""

    def __init__(self, dev: SP804, n: int, clock_hz: int) -> None:
        self.dev = dev
        self.n = n
        self.clock_hz = clock_hz
        self.timer: Timer | None = None
        self.reset()

    def reset(self) -> None:
        if getattr(self, "timer", None) is not None:
            self.timer.cancel()
        self.timer = None
        self.ctrl = 0x20
        self.load = 0
        self.ris = 0
        self.base_value = 0xFFFFFFFF
        self.base_ns = self._now()
        self.zero_pending = False
        self.next_k: int | None = None  # tick index of the next scheduled zero

    # -- arithmetic ---------------------------------------------------------------

    def _now(self) -> int:
        clock = self.dev.clock
        return clock.now if clock is not None else 0

    @property
    def running(self) -> bool:
        return bool(self.ctrl & ENABLE)

    @property
    def prescale(self) -> int:
        return _PRESCALE[(self.ctrl >> 2) & 3]

    @property
    def mask(self) -> int:
        return 0xFFFFFFFF if self.ctrl & SIZE32 else 0xFFFF

    @property
    def period(self) -> int:
        """Value the counter takes after zero (before counting down again)."""
        return (self.load & self.mask) if self.ctrl & PERIODIC else self.mask

    def ticks(self, now: int) -> int:
        return (now - self.base_ns) * self.clock_hz // (NS * self.prescale)

    def tick_time(self, k: int) -> int:
        return self.base_ns + -(-k * NS * self.prescale // self.clock_hz)

    def value_at(self, k: int) -> int:
        if not self.running:
            return self.base_value
        mask = self.mask
        v = self.base_value & mask
        hi = self.base_value & ~mask & 0xFFFFFFFF
        if k <= v:
            low = v - k
        elif self.ctrl & ONESHOT:
            low = 0
        else:
            p = self.period
            low = p - (k - v - 1) % (p + 1)
        return hi | low

    def value(self) -> int:
        return self.value_at(self.ticks(self._now()))

    # -- changes ------------------------------------------------------------------

    def rebase(self, keep_phase: bool = True) -> None:
        """Fold elapsed time into (base value, base time) before settings change."""
        now = self._now()
        if self.running:
            k = self.ticks(now)
            pending = self.next_k is not None and self.next_k <= k
            self.base_value = self.value_at(k)
            self.base_ns = self.tick_time(k) if keep_phase else now
            self.zero_pending = pending and (self.base_value & self.mask) == 0
        else:
            self.base_ns = now

    def schedule(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.next_k = None
        clock = self.dev.clock
        if not self.running or clock is None:
            return
        v = self.base_value & self.mask
        if v > 0 or self.zero_pending:
            k = v
        elif self.ctrl & ONESHOT:
            return  # stopped at zero
        else:
            k = v + self.period + 1
        self.next_k = k
        self.timer = clock.at(self.tick_time(k), self._zero)

    def _zero(self) -> None:
        self.timer = None
        k = self.next_k
        self.ris = 1
        self.dev._update()
        if k is None or self.ctrl & ONESHOT:
            self.next_k = None
            return
        clock = self.dev.clock
        nk = k + self.period + 1
        self.next_k = nk
        if clock is not None:
            self.timer = clock.at(self.tick_time(nk), self._zero)

    def write_control(self, value: int) -> None:
        value &= 0xEF
        old = self.ctrl
        self.rebase(keep_phase=(old ^ value) & 0x0C == 0)
        self.ctrl = value
        self.schedule()
        self.dev._update()

    def write_load(self, value: int) -> None:
        self.rebase()
        self.load = value
        self.base_value = value
        self.zero_pending = (value & self.mask) == 0
        self.schedule()

    def write_bgload(self, value: int) -> None:
        self.rebase()
        self.load = value
        self.schedule()

    @property
    def mis(self) -> int:
        return self.ris if self.ctrl & IE else 0


class SP804(PrimeCell):
    """SP804 dual timer.  ``clock_hz`` is TIMCLK for both timers, or a pair."""

    name = "sp804"
    compatible = ("arm,sp804", "arm,primecell")
    periphid = 0x00141804

    def __init__(self, name: str | None = None, *,
                 clock_hz: int | tuple[int, int] = 1_000_000) -> None:
        super().__init__(name)
        hz = (clock_hz, clock_hz) if isinstance(clock_hz, int) else tuple(clock_hz)
        if len(hz) != 2 or min(hz) <= 0:
            raise ValueError("clock_hz must be a positive rate or a pair of them")
        self.timers = (_Counter(self, 1, hz[0]), _Counter(self, 2, hz[1]))
        on_read = {}
        on_write = {}
        for t in self.timers:
            p = f"Timer{t.n}"
            on_read[f"{p}Load"] = on_read[f"{p}BGLoad"] = (lambda t=t: t.load)
            on_read[f"{p}Value"] = t.value
            on_read[f"{p}Control"] = (lambda t=t: t.ctrl)
            on_read[f"{p}RIS"] = (lambda t=t: t.ris)
            on_read[f"{p}MIS"] = (lambda t=t: t.mis)
            on_write[f"{p}Load"] = t.write_load
            on_write[f"{p}BGLoad"] = t.write_bgload
            on_write[f"{p}Control"] = t.write_control
            on_write[f"{p}IntClr"] = (lambda v, t=t: self._intclr(t))
        on_write["TimerITCR"] = on_write["TimerITOP"] = lambda v: self._update()
        self.regs = self._make_regs("sp804", sp804_registers(), on_read=on_read,
                                    on_write=on_write)
        self.reset()

    @classmethod
    def dt_params(cls, props: Props) -> dict[str, Any]:
        hz = prop_int(props, "clock-frequency")
        return {"clock_hz": hz} if hz else {}

    def reset(self) -> None:
        self.regs.reset()
        for t in self.timers:
            t.reset()
        self._update()

    def attach(self, machine) -> None:  # type: ignore[no-untyped-def]
        super().attach(machine)
        for t in self.timers:
            t.base_ns = machine.clock.now

    def _intclr(self, t: _Counter) -> None:
        t.ris = 0
        self._update()

    def _update(self) -> None:
        if self.regs["TimerITCR"] & 1:
            op = self.regs["TimerITOP"]
            i1, i2 = bool(op & 1), bool(op & 2)
        else:
            i1, i2 = bool(self.timers[0].mis), bool(self.timers[1].mis)
        self.set_irq(i1 or i2, 0)
        self.set_irq(i1, 1)
        self.set_irq(i2, 2)
