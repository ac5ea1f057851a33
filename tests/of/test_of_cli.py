"""``iomem dt``: the summary, and one clear line for a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from iomem.of import builtin_dtb
from iomem.of.cli import dt

DATA = Path(__file__).parent / "data"


def _run(*args: str):
    return CliRunner().invoke(dt, list(args))


def test_virt_summary() -> None:
    result = _run("virt")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("virt: linux,dummy-virt (compatible: linux,dummy-virt), 56 nodes")
    assert "40000000-7fffffff : System RAM  (memory@40000000)" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines()
             if line.startswith("  ") and not line.startswith("   ")}
    assert lines["9000000.pl011"][:5] == ["9000000.pl011", "amba", "arm,pl011",
                                           "09000000-09000fff", "33"]
    assert lines["a000000.virtio_mmio"][1:4] == ["platform", "virtio,mmio", "0a000000-0a0001ff"]
    assert lines["timer"][3:6] == ["-", "29,30,27,26", "level-high"]
    assert "43 devices (40 platform, 3 amba), 0 disabled" in out


def test_models_are_looked_up() -> None:
    devices = pytest.importorskip("iomem.devices")
    if getattr(devices, "model_for_compatible", None) is None:
        pytest.skip("no model registry yet")
    out = _run("virt").output
    pl011 = next(line for line in out.splitlines() if "9000000.pl011" in line)
    assert pl011.split()[-2] != "-"  # a PL011 model exists


def test_dtb_file_and_all_nodes(tmp_path: Path) -> None:
    blob = tmp_path / "board.dtb"
    blob.write_bytes(builtin_dtb("virt"))
    result = _run(str(blob), "--all")
    assert result.exit_code == 0, result.output
    assert "Every node:" in result.output
    assert "/gpio-keys/poweroff" in result.output
    assert "/intc@8000000  " in result.output or "/intc@8000000 " in result.output


def test_dts_with_disabled_devices(dtc) -> None:
    result = _run(str(DATA / "edge.dts"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Reserved memory:" in out and "[no-map]" in out and "/memreserve/" in out
    off = next(line for line in out.splitlines() if "10002000.off" in line)
    assert "disabled" in off.split()
    assert "24 devices (23 platform, 1 amba), 3 disabled" in out
    assert "dtc warnings:" in out


@pytest.mark.parametrize("content,message", [
    (b"", "not a flattened device tree"),
    (b"\xd0\x0d\xfe\xed" + bytes(8), "truncated device tree blob"),
    (builtin_dtb("virt")[:2000], "truncated device tree blob: the header says"),
])
def test_bad_blob_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.dtb"
    bad.write_bytes(content)
    result = _run(str(bad))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]


def test_missing_file_and_bad_source(tmp_path: Path, dtc) -> None:
    result = _run(str(tmp_path / "missing.dtb"))
    assert result.exit_code == 1 and "no such file" in result.output
    src = tmp_path / "broken.dts"
    src.write_text("/dts-v1/;\n/ { node { ; };\n")
    result = _run(str(src))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {src}: dtc failed:")
    assert "Traceback" not in result.output
