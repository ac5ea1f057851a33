"""``iomem run`` shows a script's own failure as Python would, and says when nothing ran."""

from __future__ import annotations

from click.testing import CliRunner

from iomem.cli.main import cli


def run(path: str):
    return CliRunner().invoke(cli, ["run", path])


def test_a_traceback_starts_at_the_script(tmp_path) -> None:
    p = tmp_path / "boom.py"
    p.write_text("def f():\n    raise ValueError('boom')\nf()\n")
    r = run(str(p))
    assert r.exit_code == 1
    assert f'File "{p}", line 3' in r.output and "ValueError: boom" in r.output
    assert "runpy" not in r.output and "runner.py" not in r.output


def test_sys_exit_with_a_message_prints_it(tmp_path) -> None:
    p = tmp_path / "ex.py"
    p.write_text("import sys\nsys.exit('fatal: no device')\n")
    r = run(str(p))
    assert r.exit_code == 1 and "fatal: no device" in r.output


def test_a_script_that_does_not_compile_is_not_called_clean(tmp_path) -> None:
    p = tmp_path / "syn.py"
    p.write_text("def (:\n")
    r = run(str(p))
    assert r.exit_code == 1
    assert "SyntaxError" in r.output and "nothing was checked" in r.output
    assert "no problems found" not in r.output
