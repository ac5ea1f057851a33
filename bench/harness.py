"""A small timeit harness: cases, targets, repeats, medians, ratios and a table.

Why not pytest-benchmark or timed tests: the figures are meant to be read
side by side from one run, as ratios to a limit measured in the same run
(machine noise on a small shared box moves absolute numbers a lot, ratios
much less), and a timing never fails a test.

A :class:`Case` is one row: a statement timed with :mod:`timeit`, whose names
come from the namespace its ``setup`` returns.  The names are bound as locals
of timeit's inner function, so a row pays what a driver pays with the same
objects in local variables, and the loop overhead (shown in its own row) is
included in every figure, including the limit's.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass
class Case:
    """One row of the table.

    ``key`` is unique across the run and is what ``ref`` and targets name;
    ``ops`` is how many operations one execution of ``stmt`` does (a loop
    over 1 024 addresses is 1 024 ops); ``nbytes`` is the bytes one op moves
    (adds MB/s); ``skip`` returns a reason when the row cannot run here.
    """

    section: str
    key: str
    name: str
    stmt: str
    setup: Callable[[], dict[str, object]]
    ref: str | None = None
    ops: int = 1
    nbytes: int = 0
    skip: Callable[[], str | None] | None = None


@dataclass
class Target:
    """A figure checked against a goal: ``median(key) / median(ref)`` (or the
    median itself, in ns, when ``ref`` is None) compared with ``limit``."""

    text: str
    key: str
    ref: str | None
    limit: float
    at_least: bool = False  # True: the value must be >= limit (a speed-up)
    unit: str = "x"


@dataclass
class Result:
    section: str
    key: str
    name: str
    ref: str | None
    number: int = 0
    repeats: int = 0
    median_ns: float = math.nan
    min_ns: float = math.nan
    max_ns: float = math.nan
    q1_ns: float = math.nan
    q3_ns: float = math.nan
    ratio: float | None = None
    mb_s: float | None = None
    skipped: str | None = None
    error: str | None = None  # the row's setup failed: a bench that no longer fits the code
    samples_ns: list[float] = field(default_factory=list)


@dataclass
class Settings:
    """How long to time each case: ``number`` fixes the iterations (no calibration)."""

    repeats: int = 7
    target_s: float = 0.1  # time of one repeat after calibration
    number: int | None = None
    clock: str = "cpu"  # "cpu": process CPU time, blind to time spent descheduled; or "wall"


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def _timer(case: Case, ns: dict[str, object], clock: str) -> timeit.Timer:
    names = [n for n in ns if n.isidentifier()]
    setup = "\n".join(f"{n} = _ns[{n!r}]" for n in names) or "pass"
    return timeit.Timer(case.stmt, setup=setup, timer=CLOCKS[clock], globals={"_ns": ns})


def calibrate(timer: timeit.Timer, target_s: float) -> int:
    """Iterations for one repeat to last about ``target_s``."""
    number = 1
    while True:
        t = timer.timeit(number)
        if t >= target_s / 10 or number >= 10**8:
            break
        number *= 10
    return max(1, int(number * target_s / max(t, 1e-9)))


def run_cases(cases: list[Case], settings: Settings) -> list[Result]:
    """Time every case: set up and calibrate all, then take the repeats in rounds.

    A round times each case once, so a burst of load on the machine hits a
    round (every row alike) rather than one row's repeats: medians across
    rounds keep ratios between rows steady.
    """
    results: list[Result] = []
    timed: list[tuple[Case, Result, timeit.Timer]] = []
    for case in cases:
        res = Result(case.section, case.key, case.name, case.ref)
        results.append(res)
        reason = case.skip() if case.skip is not None else None
        if reason:
            res.skipped = reason
            continue
        try:
            timer = _timer(case, case.setup(), settings.clock)
            res.number = settings.number or calibrate(timer, settings.target_s)
        except Exception as e:  # one broken row must not hide the others
            res.error = res.skipped = f"error: {type(e).__name__}: {e}"
            continue
        res.repeats = settings.repeats
        timed.append((case, res, timer))
    for _round in range(settings.repeats):
        for case, res, timer in timed:
            t = timer.timeit(res.number)
            res.samples_ns.append(t / (res.number * case.ops) * 1e9)
    for case, res, _t in timed:
        _summarise(case, res)
    return results


def _summarise(case: Case, res: Result) -> None:
    samples = res.samples_ns
    res.median_ns = statistics.median(samples)
    res.min_ns, res.max_ns = min(samples), max(samples)
    if len(samples) >= 2:
        q = statistics.quantiles(samples, n=4, method="inclusive")
        res.q1_ns, res.q3_ns = q[0], q[2]
    else:
        res.q1_ns = res.q3_ns = samples[0]
    if case.nbytes:
        res.mb_s = case.nbytes / res.median_ns * 1e3  # bytes/ns -> MB/s (1e6 bytes)


def link_ratios(results: dict[str, Result]) -> None:
    """Fill each row's ratio to its reference row from the same run."""
    for r in results.values():
        ref = results.get(r.ref) if r.ref else None
        if ref is not None and not r.skipped and not ref.skipped and ref.median_ns > 0:
            r.ratio = r.median_ns / ref.median_ns


def check_target(t: Target, results: dict[str, Result]) -> dict[str, object]:
    """The value of a target in this run, and whether it is met (None: not measured)."""
    r = results.get(t.key)
    ref = results.get(t.ref) if t.ref else None
    if r is None or r.skipped or (t.ref and (ref is None or ref.skipped)):
        return {"target": t.text, "value": None, "limit": t.limit, "met": None}
    value = r.median_ns / ref.median_ns if ref is not None else r.median_ns
    met = value >= t.limit if t.at_least else value <= t.limit
    return {"target": t.text, "value": value, "limit": t.limit, "unit": t.unit, "met": met}


# -- output ----------------------------------------------------------------------------

def _ns(v: float) -> str:
    if math.isnan(v):
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f}ms"
    if v >= 1e4:
        return f"{v / 1e3:.1f}us"
    return f"{v:.0f}"


def format_table(results: list[Result], by_key: dict[str, Result]) -> str:
    """A fixed-width table, one block per section; times in ns per op unless marked."""
    head = (f"{'key':<20} {'case':<40} {'median':>8} {'min':>8} {'max':>8} {'IQR%':>5} "
            f"{'x ref':>7}  {'ref':<18} {'MB/s':>8}")
    lines: list[str] = []
    section = None
    for r in results:
        if r.section != section:
            section = r.section
            lines += ["", f"== {section} (ns per op) ==", head, "-" * len(head)]
        if r.skipped:
            lines.append(f"{r.key:<20} {r.name:<40} skipped: {r.skipped}")
            continue
        iqr = (r.q3_ns - r.q1_ns) / r.median_ns * 100 if r.median_ns else math.nan
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        ref = r.ref if r.ref and r.ref in by_key else ""
        mb = f"{r.mb_s:.1f}" if r.mb_s is not None else ""
        lines.append(f"{r.key:<20} {r.name:<40} {_ns(r.median_ns):>8} {_ns(r.min_ns):>8} "
                     f"{_ns(r.max_ns):>8} {iqr:>5.1f} {ratio:>7}  {ref:<18} {mb:>8}")
    return "\n".join(lines)


def format_targets(checked: list[dict[str, object]]) -> str:
    lines = ["", "== targets =="]
    for c in checked:
        v = c["value"]
        if v is None:
            lines.append(f"[ -- ] {c['target']}: not measured")
            continue
        mark = "MET " if c["met"] else "MISS"
        shown = f"{v:.0f} ns" if c.get("unit") == "ns" else f"{v:.2f}x"
        lines.append(f"[{mark}] {c['target']}: {shown}")
    return "\n".join(lines)


def machine_info() -> dict[str, object]:
    import os

    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


def to_json(results: list[Result], checked: list[dict[str, object]],
            extra: dict[str, object], settings: Settings) -> str:
    doc = {"machine": machine_info(), "settings": asdict(settings),
           "results": [asdict(r) for r in results], "targets": checked, **extra}
    return json.dumps(_no_nan(doc), indent=2, default=str)


def _no_nan(v: object) -> object:
    """NaN (a skipped row) as null: strict JSON has no NaN."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _no_nan(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_no_nan(x) for x in v]
    return v
