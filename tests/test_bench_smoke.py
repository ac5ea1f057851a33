"""The benchmark program runs end to end: every section prints, JSON is written.

No timing is asserted (figures depend on the machine); this keeps ``bench/``
from rotting as the APIs it drives change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("raw limit", "access: SRAM (ram region)", "access: register region",
            "layers: one 32-bit register read", "lookup", "copy",
            "userspace: 1 MiB file-backed mmap", "targets")


def test_bench_quick_runs_every_section(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--number", "2",
         "--repeat", "2", "--json", str(out_json)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for section in SECTIONS:
        assert f"== {section}" in proc.stdout, f"section {section!r} missing:\n{proc.stdout}"
    assert "Traceback" not in proc.stderr
    doc = json.loads(out_json.read_text())
    keys = {r["key"] for r in doc["results"]}
    for key in ("raw.read32", "ram.readl", "reg.readl", "reg.writeq", "lookup.miss.100000",
                "copy.toio.1048576", "us.periphery.read32"):
        assert key in keys
    assert not [r["key"] for r in doc["results"] if r["error"]]
    assert all(r["skipped"] or r["median_ns"] > 0 for r in doc["results"])
    assert {t["target"] for t in doc["targets"]}
