"""Every runnable block of the guide runs, and prints exactly what the page shows.

After a deliberate change: ``python tests/docs/docs_blocks.py --update``.
"""

from __future__ import annotations

import pytest
from docs_blocks import DOCS, check_page, pages, parse

PAGES = pages()


def test_the_guide_has_runnable_pages() -> None:
    assert len(PAGES) >= 5


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_output_matches(page) -> None:
    problems = check_page(page)
    assert not problems, "\n\n".join(problems) + (
        "\n\n(after a deliberate change: python tests/docs/docs_blocks.py --update "
        f"{page.relative_to(DOCS.parent)})")


def test_parse_pairs_code_with_its_output() -> None:
    text = ("<!-- run -->\n```python\nprint(1)\n```\n\n```text\n1\n```\n"
            "<!-- run -->\n```python\nx = 2\n```\n\n```python\nnot run\n```\n"
            "<!-- run -->\n```console\n$ iomem --version\niomem, version 0.1.0\n```\n")
    a, b, c = parse(text)
    assert (a.code, a.expected) == ("print(1)\n", "1\n")
    assert (b.code, b.expected) == ("x = 2\n", None)
    assert c.commands == [("iomem --version", "iomem, version 0.1.0\n")]


def test_a_mark_without_a_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="must be followed"):
        parse("<!-- run -->\nprose\n")


def test_drift_is_reported(tmp_path) -> None:
    page = tmp_path / "p.md"
    page.write_text("<!-- run -->\n```python\nprint('printed')\n```\n\n```text\nshown\n```\n")
    (problem,) = check_page(page)
    assert "shown" in problem and "printed" in problem
