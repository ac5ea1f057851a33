"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})  # noqa: S102


def test_the_tour_claims_maps_and_releases(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[0], str(README), "exec"), {"__name__": "readme"})  # noqa: S102
    out = capsys.readouterr().out
    assert "09000000-09000fff : pl011@9000000" in out  # the real guest's /proc/iomem
    assert "0xff\n" in out  # GPIODIR read back
