"""Run iomem's benchmarks and print one table (and JSON with ``--json FILE``).

    python bench/run.py [--quick] [--json FILE] [--only TEXT] [--number N] [--repeat N]

Every ``bench_*.py`` next to this file is a topic: it exposes ``CASES`` (rows),
optionally ``TARGETS`` (goals checked at the end) and ``ORDER`` (its place in
the table).  Add a row by appending a :class:`harness.Case` to a topic's list,
or add a topic by adding a module.  Figures are medians of several repeats
with their spread; compare rows through their ratio to a limit measured in
the same run, since absolute numbers move with machine load.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402 - the bench directory is put on the path first
    Case,
    Result,
    Settings,
    Target,
    check_target,
    format_table,
    format_targets,
    link_ratios,
    machine_info,
    run_cases,
    to_json,
)


def topics() -> list[ModuleType]:
    """The bench modules in table order."""
    mods = [importlib.import_module(p.stem) for p in sorted(HERE.glob("bench_*.py"))]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="iomem benchmarks: ns per op, medians and spread, "
                                 "ratios to limits measured in the same run")
    ap.add_argument("--quick", action="store_true",
                    help="fewer, shorter repeats (about 15 s; noisier)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--only", metavar="TEXT", action="append", default=[],
                    help="run only rows whose key or section contains TEXT (repeatable; "
                         "rows they are compared with run too)")
    ap.add_argument("--number", type=int, help="iterations per repeat (default: calibrated)")
    ap.add_argument("--repeat", type=int, help="repeats per row (default 7, --quick 3)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu (default): process CPU time, so time spent descheduled on a "
                         "busy machine is not counted; wall: elapsed time")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a measured target is missed")
    args = ap.parse_args(argv)

    settings = Settings(repeats=3, target_s=0.02) if args.quick else Settings()
    if args.repeat:
        settings.repeats = max(1, args.repeat)
    if args.number:
        settings.number = max(1, args.number)
    settings.clock = args.clock

    cases: list[Case] = []
    targets: list[Target] = []
    for mod in topics():
        cases += mod.CASES
        targets += getattr(mod, "TARGETS", [])
    keys = [c.key for c in cases]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise SystemExit(f"bench: duplicate case keys: {', '.join(dup)}")
    if args.only:
        wanted = {c.key for c in cases
                  if any(t in c.key or t in c.section for t in args.only)}
        wanted |= {c.ref for c in cases if c.key in wanted and c.ref}
        cases = [c for c in cases if c.key in wanted]

    info = machine_info()
    print(f"iomem bench: Python {info['python']} ({info['implementation']}) on "
          f"{info['platform']}, {info['cpus']} CPUs")
    print(f"{settings.clock} clock, repeats {settings.repeats}, "
          + (f"{settings.number} iterations each" if settings.number else
             f"~{settings.target_s * 1000:.0f} ms each (calibrated)")
          + "; median, min, max and IQR of the repeats; 'x ref' = median / the ref row's "
            "median")
    t0 = time.perf_counter()
    results: list[Result] = run_cases(cases, settings)
    by_key = {r.key: r for r in results}
    link_ratios(by_key)
    checked = [check_target(t, by_key) for t in targets
               if t.key in by_key and (t.ref is None or t.ref in by_key)]
    elapsed = time.perf_counter() - t0
    print(format_table(results, by_key))
    print(format_targets(checked))
    print(f"\n{len(results)} rows in {elapsed:.1f} s")
    if args.json:
        Path(args.json).write_text(to_json(results, checked, {"elapsed_s": elapsed}, settings)
                                   + "\n")
        print(f"wrote {args.json}")
    errors = [r for r in results if r.error]
    for r in errors:
        print(f"bench: row {r.key} failed: {r.error}", file=sys.stderr)
    if errors or (args.check and any(c["met"] is False for c in checked)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
