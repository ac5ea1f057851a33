"""``iomem run``: the script under the sanitizer, exit statuses, reports as text and JSON,
the board and model options, events, and the mistakes a user can make on the command
line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from iomem.check.cli import run
from iomem.cli.main import cli

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "pitfalls"


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["run", *args])
    return res.exit_code, res.stdout, res.stderr


def test_registered_as_iomem_run() -> None:
    assert cli.commands["run"] is run


def test_check_fails_on_errors_and_prints_them() -> None:
    code, out, err = _run("--check", str(GALLERY / "relaxed_doorbell_bad.py"))
    assert code == 1
    assert "ERROR: the device read no valid descriptor" in out
    assert "relaxed_doorbell_bad.py:" in err and "error: [relaxed-doorbell]" in err
    assert err.rstrip().endswith("iomem sanitizer: 1 error, 0 warnings")


def test_without_check_the_status_is_the_scripts() -> None:
    code, _out, err = _run(str(GALLERY / "relaxed_doorbell_bad.py"))
    assert code == 0 and "[relaxed-doorbell]" in err


def test_warnings_fail_only_when_asked() -> None:
    script = str(GALLERY / "posted_write_delay_bad.py")
    assert _run("--check", script)[0] == 0
    assert _run("--check", "--fail-on", "warning", script)[0] == 1


def test_a_clean_script() -> None:
    code, out, err = _run("--check", "--fail-on", "warning",
                          str(GALLERY / "relaxed_doorbell_good.py"))
    assert code == 0 and "hello, device!!!" in out
    assert err.strip() == "iomem sanitizer: no problems found"


def test_a_script_stopped_by_an_oops(tmp_path: Path) -> None:
    code, _out, err = _run("--check", str(GALLERY / "use_after_iounmap_bad.py"))
    assert code == 1
    assert "iomem run: the script stopped: KernelOops: Unable to handle kernel paging" in err
    assert "[use-after-iounmap]" in err and "released by devres" in err
    assert "leak-" not in err  # what a stopped script still holds is no news


def test_json_reports(tmp_path: Path) -> None:
    out_file = tmp_path / "r.json"
    code, _out, _err = _run("--json", str(out_file), str(GALLERY / "endian_mismatch_bad.py"))
    assert code == 0
    data = json.loads(out_file.read_text())
    assert data["errors"] == 1 and data["reports"][0]["rule"] == "endian-mismatch"
    assert data["reports"][0]["site"]["file"].endswith("endian_mismatch_bad.py")


def test_the_preloaded_board_and_model_serve_plain_scripts(tmp_path: Path) -> None:
    script = tmp_path / "drv.py"
    script.write_text(
        "import sys, iomem\n"
        "k = iomem.current_kernel()\n"
        "print(k.board_name, k.memory_model, k.sanitize, sys.argv[1:])\n"
        "base = iomem.ioremap(0x0a000000, 0x1000)\n"
        "iomem.writel(1, base + 8)\n")
    code, out, err = _run("--model", "adversarial", "--board", "lab", str(script), "a", "-b")
    assert code == 0
    assert out.splitlines()[0] == "lab adversarial True ['a', '-b']"
    assert "drv.py:4: warning: [ioremap-unclaimed]" in err
    assert "drv.py:5: error: [write-read-only]" in err and "[leak-mapping]" in err


def test_no_sanitize_and_events(tmp_path: Path) -> None:
    script = tmp_path / "drv.py"
    script.write_text("import iomem\n"
                      "base = iomem.ioremap(0x0a000000, 0x1000)\n"
                      "iomem.writel(1, base + 4)\n"
                      "iomem.readl(base)\n")
    code, out, err = _run("--no-sanitize", "--events", "--model", "adversarial", str(script))
    assert code == 0 and err == ""
    marks = out.splitlines()
    assert marks[0].startswith("MARK 0.000000 cpu: posted: 4-byte write of 0x1 to 0xa000004")
    assert "arrive" in marks[1]


def test_seeded_runs_are_reproducible(tmp_path: Path) -> None:
    script = tmp_path / "wc.py"
    script.write_text("import iomem\n"
                      "fb = iomem.ioremap_wc(0x0c000000, 0x10000)\n"
                      "for i in range(8):\n"
                      "    iomem.writel_relaxed(i, fb + 64 * i)\n"
                      "iomem.wmb()\n")
    runs = [_run("--no-sanitize", "--events", "--model", "adversarial", "--seed", "7",
                 str(script))[1] for _ in range(2)]
    assert runs[0] == runs[1] and "wc-flush" in runs[0]


def test_a_script_with_a_python_error(tmp_path: Path) -> None:
    script = tmp_path / "oops.py"
    script.write_text("raise ValueError('mine')\n")
    code, _out, err = _run(str(script))
    assert code == 1 and "ValueError: mine" in err


def test_exit_status_of_the_script(tmp_path: Path) -> None:
    script = tmp_path / "exit.py"
    script.write_text("import sys\nsys.exit(3)\n")
    assert _run(str(script))[0] == 3


def test_rules_listing() -> None:
    code, out, _err = _run("--rules")
    assert code == 0 and "relaxed-doorbell" in out and "leak-irq" in out


@pytest.mark.parametrize("args, words", [
    ([], "missing SCRIPT.py"),
    (["nowhere.py"], "no such file: nowhere.py"),
    (["--model", "loose", "x.py"], "Invalid value for '--model'"),
    (["--board", "mars", "x.py"], "unknown board 'mars'"),
])
def test_command_line_mistakes(args: list[str], words: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("")
    code, _out, err = _run(*args)
    assert code == 2 and words in err
