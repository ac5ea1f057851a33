"""The guide builds into a site with ``mkdocs build --strict`` (warnings are errors), with
its pictures and the CLI reference generated during the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_every_chapter_is_a_page(site: Path) -> None:
    chapters = sorted(p.stem for p in (ROOT / "docs").glob("[0-9][0-9]-*.md"))
    assert chapters
    for stem in chapters:
        assert (site / stem / "index.html").is_file(), stem


def test_pictures_are_generated_from_the_real_objects(site: Path) -> None:
    img = site / "img"
    for name in ("virt-memory-map.svg", "pc-memory-map.svg", "pc-resource-tree.svg",
                 "access-timeline.svg"):
        svg = (img / name).read_text()
        assert svg.startswith("<svg") and "</svg>" in svg, name
    assert "edu-mmio" in (img / "pc-memory-map.svg").read_text()
    assert "0000:00:04.0" in (img / "pc-resource-tree.svg").read_text()


def test_cli_reference_is_generated_from_click(site: Path) -> None:
    from click.testing import CliRunner

    from iomem.cli.main import cli

    page = (site / "cli" / "index.html").read_text()
    for name in cli.commands:
        assert f"iomem {name}" in page, name
    first = CliRunner().invoke(cli, ["iomem", "--help"][1:]).output.splitlines()[0]
    assert first.replace("[", "").split()[0] in page
