"""``iomem run`` facing a user's mistakes: a ``--json`` destination that cannot be written
(refused before anything runs), ``--json -`` (stdout is the JSON alone), a NULL device
handed to the kernel (the kernel's oops, never iomem's traceback), and a bad argument to
an accessor (the traceback ends at the user's line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from iomem.cli.main import cli

ARM64_NULL = "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000"


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["run", *args])
    return res.exit_code, res.stdout, res.stderr


def _script(tmp_path: Path, body: str, name: str = "drv.py") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


# -- --json FILE: checked before the script runs ---------------------------------------

def test_an_unwritable_json_path_is_a_usage_error_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = _script(tmp_path, f"open({str(marker)!r}, 'w').close()\nprint('ran')\n")
    code, out, err = _run("--check", "--json", str(tmp_path / "no" / "such" / "r.json"),
                          str(script))
    assert code == 2
    assert "Error: Invalid value for '--json':" in err and "No such file or directory" in err
    assert not marker.exists() and "ran" not in out
    assert "Traceback" not in err


def test_a_json_path_that_is_a_directory(tmp_path: Path) -> None:
    script = _script(tmp_path, "print('ran')\n")
    code, out, err = _run("--json", str(tmp_path), str(script))
    assert code == 2 and "Invalid value for '--json'" in err and "is a directory" in err
    assert out == ""


def test_the_json_path_may_not_be_the_script(tmp_path: Path) -> None:
    body = "print('ran')\n"
    script = _script(tmp_path, body)
    code, out, err = _run("--json", str(script), str(script))
    assert code == 2 and "Invalid value for '--json'" in err and "SCRIPT itself" in err
    assert script.read_text() == body and out == ""


def test_a_bad_board_leaves_no_json_file_behind(tmp_path: Path) -> None:
    script = _script(tmp_path, "print('ran')\n")
    code, _out, err = _run("--board", "no-such-board", "--json", str(tmp_path / "r.json"),
                           str(script))
    assert code == 2 and "--board" in err and not (tmp_path / "r.json").exists()


def test_a_writable_json_path_still_gets_the_reports(tmp_path: Path) -> None:
    script = _script(tmp_path, "import iomem\nbase = iomem.ioremap(0x0a000000, 0x1000)\n"
                               "iomem.writel(1, base + 8)\niomem.iounmap(base)\n")
    out_file = tmp_path / "r.json"
    code, _out, _err = _run("--check", "--json", str(out_file), str(script))
    data = json.loads(out_file.read_text())
    assert code == 1 and data["errors"] == 1
    assert "write-read-only" in [r["rule"] for r in data["reports"]]


# -- --json -: stdout is the JSON document --------------------------------------------

PRINTING = ("import iomem\n"
            "print('the script says hello')\n"
            "base = iomem.ioremap(0x0a000000, 0x1000)\n"
            "iomem.writel(1, base + 8)\n"
            "iomem.iounmap(base)\n")


def test_json_to_stdout_is_the_only_thing_on_stdout(tmp_path: Path) -> None:
    script = _script(tmp_path, PRINTING)
    code, out, err = _run("--check", "--json", "-", str(script))
    assert code == 1
    data = json.loads(out)  # nothing but the document
    assert data["errors"] == 1
    assert "write-read-only" in [r["rule"] for r in data["reports"]]
    assert "the script says hello" in err
    assert "error: [write-read-only]" in err and "iomem sanitizer: 1 error" in err


def test_json_to_stdout_with_events(tmp_path: Path) -> None:
    script = _script(tmp_path, PRINTING)
    code, out, err = _run("--events", "--json", "-", str(script))
    assert code == 0 and json.loads(out)["errors"] == 1
    assert "MARK " in err and "MARK " not in out


def test_json_to_stdout_in_a_real_process(tmp_path: Path) -> None:
    """fd 1 goes to stderr too while the script runs: a child process's output as well."""
    script = _script(tmp_path, PRINTING + (
        "import subprocess, sys\n"
        "subprocess.run([sys.executable, '-c', 'print(\"from a child\")'], check=True)\n"))
    proc = subprocess.run([sys.executable, "-m", "iomem", "run", "--json", "-", str(script)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["errors"] == 1
    assert "the script says hello" in proc.stderr and "from a child" in proc.stderr


def test_the_help_says_where_the_scripts_output_goes() -> None:
    res = CliRunner().invoke(cli, ["run", "--help"])
    assert "--json FILE" in res.stdout
    assert "script's own output goes to" in " ".join(res.stdout.split())


# -- a NULL device: the kernel's oops ---------------------------------------------------

def test_dma_alloc_coherent_of_null_is_an_oops_not_a_traceback(tmp_path: Path) -> None:
    script = _script(tmp_path, "import iomem\n"
                               "def probe(dev):\n"
                               "    return iomem.dma_alloc_coherent(dev, 4096)\n"
                               "probe(None)\n")
    code, _out, err = _run("--check", str(script))
    assert code == 1
    assert f"iomem run: the script stopped: KernelOops: {ARM64_NULL}" in err
    assert "drv.py:3 in probe()" in err
    assert "Traceback" not in err and "AttributeError" not in err


def test_devm_ioremap_resource_of_null_is_the_bug_on(tmp_path: Path) -> None:
    script = _script(tmp_path, "import iomem\n"
                               "base = iomem.devm_ioremap_resource(None, None)\n")
    code, _out, err = _run("--check", str(script))
    assert code == 1
    assert "iomem run: the script stopped: KernelOops: kernel BUG at lib/devres.c:" in err
    assert "drv.py:2" in err
    assert "Traceback" not in err and "AttributeError" not in err


def test_an_oops_a_report_explains_gets_no_second_location(tmp_path: Path) -> None:
    script = _script(tmp_path, "import iomem\niomem.readl(None)\n")
    code, _out, err = _run(str(script))
    assert code == 1 and "drv.py:2: error: [unchecked-result]" in err
    assert "    at drv.py:2" not in err


# -- a bad argument: the traceback ends at the user's line -------------------------------

def test_a_float_value_to_writel(tmp_path: Path) -> None:
    script = _script(tmp_path, "import iomem\n"
                               "base = iomem.ioremap(0x0a000000, 0x1000)\n"
                               "def poke(b):\n"
                               "    iomem.writel(1.5, b)\n"
                               "poke(base)\n")
    code, _out, err = _run(str(script))
    assert code == 1
    tb = err[err.index("Traceback"):err.index("TypeError")]
    assert f'File "{script}", line 5' in tb and f'File "{script}", line 4, in poke' in tb
    assert "iomem/kernel" not in tb and "io.py" not in tb
    assert "TypeError: writel: the value must be an integer, not float" in err


def test_a_value_too_wide_for_writel(tmp_path: Path) -> None:
    script = _script(tmp_path, "import iomem\n"
                               "base = iomem.ioremap(0x0a000000, 0x1000)\n"
                               "iomem.writel(1 << 40, base)\n")
    code, _out, err = _run("--check", str(script))
    assert code == 1
    tb = err[err.index("Traceback"):err.index("ValueError")]
    assert f'File "{script}", line 3' in tb and "iomem/kernel" not in tb
    assert "ValueError: writel: value 0x10000000000 does not fit in 32 bits" in err


def test_the_scripts_own_call_into_pythons_library_is_shown_whole(tmp_path: Path) -> None:
    script = _script(tmp_path, "import json\njson.loads('{')\n")
    code, _out, err = _run(str(script))
    assert code == 1 and "json/decoder.py" in err and "JSONDecodeError" in err
