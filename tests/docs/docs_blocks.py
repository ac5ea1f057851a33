"""The guide's runnable blocks: find them, run them, compare or rewrite their output.

The convention, in any page under ``docs/``:

- a fenced ``python`` block right after a ``<!-- run -->`` line is run; the
  blocks of one page run in order in one namespace (a chapter builds up
  state), in a fresh interpreter state for the kernel's boot defaults;
- what it prints (stdout and stderr) is the fenced ``text`` block that
  follows it (blank lines only in between); a block that prints nothing
  has none;
- a fenced ``console`` block right after ``<!-- run -->`` holds ``$ iomem ...``
  lines, each followed by what the command prints; the commands run through
  click in this process;
- comparison is exact, except that trailing spaces of lines and trailing
  blank lines are not significant (Markdown editors drop them).

Regenerate the shown output after a deliberate change with::

    python tests/docs/docs_blocks.py --update [docs/PAGE.md ...]
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import shlex
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARK = "<!-- run -->"
FENCE = re.compile(r"^(`{3,})\s*([\w-]*)\s*$")


@dataclass
class Block:
    """One runnable block of a page (line numbers are 0-based indices into the page)."""

    kind: str  # "python" or "console"
    code: str
    line: int  # the first line of the code (after the fence)
    fence_end: int  # index of the closing fence
    expected: str | None = None  # the output block's text, None if there is none
    out_span: tuple[int, int] | None = None  # [opening fence, closing fence] of the output
    commands: list[tuple[str, str]] = field(default_factory=list)  # console: (cmd, shown)


def _fence_at(lines: list[str], i: int) -> tuple[str, str, int] | None:
    """(language, body, index of the closing fence) of a fence opening at line i."""
    m = FENCE.match(lines[i])
    if not m:
        return None
    ticks, lang = m.group(1), m.group(2)
    for j in range(i + 1, len(lines)):
        if lines[j].strip() == ticks:
            return lang, "".join(x + "\n" for x in lines[i + 1:j]), j
    raise ValueError(f"line {i + 1}: fence never closed")


def parse(text: str) -> list[Block]:
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != MARK:
            i += 1
            continue
        j = i + 1
        fence = _fence_at(lines, j) if j < len(lines) else None
        if fence is None or fence[0] not in ("python", "console"):
            raise ValueError(f"line {i + 1}: {MARK} must be followed by a python or "
                             "console block")
        lang, body, end = fence
        block = Block(lang, body, j + 1, end)
        if lang == "console":
            block.commands = _console(body, j + 1)
        else:
            k = end + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            out = _fence_at(lines, k) if k < len(lines) else None
            if out is not None and out[0] == "text":
                block.expected = out[1]
                block.out_span = (k, out[2])
        blocks.append(block)
        i = end + 1
    return blocks


def _console(body: str, first: int) -> list[tuple[str, str]]:
    cmds: list[tuple[str, str]] = []
    for n, ln in enumerate(body.splitlines()):
        if ln.startswith("$ "):
            cmds.append((ln[2:], ""))
        elif not cmds:
            raise ValueError(f"line {first + n + 1}: a console block starts with '$ iomem ...'")
        else:
            cmds[-1] = (cmds[-1][0], cmds[-1][1] + ln + "\n")
    return cmds


def normalise(text: str) -> str:
    return "\n".join(ln.rstrip() for ln in text.rstrip().split("\n")).strip("\n")


def run_console(cmd: str) -> str:
    """Run an ``iomem`` command in this process, from the repository's top directory,
    as the command line would.

    It runs on a thread of its own started straight into click, so a call trace
    the simulated kernel prints holds the command's frames and none of this runner's.
    """
    from click.testing import CliRunner

    from iomem.cli.main import cli

    argv = shlex.split(cmd)
    if not argv or argv[0] != "iomem":
        raise ValueError(f"only iomem commands run in console blocks: {cmd!r}")
    with contextlib.chdir(ROOT), CliRunner().isolation() as streams:
        failed = _on_thread(functools.partial(cli.main, argv[1:], prog_name="iomem"))
        if failed is not None and not isinstance(failed, SystemExit):
            raise failed
        return streams[-1].getvalue().decode()


def _on_thread(target: object, *args: object) -> BaseException | None:
    """Call target on a thread started straight into it (so a call trace the simulated
    kernel prints starts at the guide's code, not at this runner); what it raised."""
    caught: list[BaseException] = []
    saved = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        caught.append(args.exc_value or RuntimeError("the block failed"))

    threading.excepthook = hook
    try:
        t = threading.Thread(target=target, args=args)  # type: ignore[arg-type]
        t.start()
        t.join()
    finally:
        threading.excepthook = saved
    return caught[0] if caught else None


def _exec(code: object, namespace: dict, buf: io.StringIO) -> BaseException | None:
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        return _on_thread(exec, code, namespace)


def run_page(path: Path) -> list[tuple[Block, str]]:
    """Run every block of a page; (block, what it printed) for each, in order."""
    from iomem.kernel import kernel as _kernel

    text = path.read_text()
    blocks = parse(text)
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    namespace: dict[str, object] = {"__name__": "__guide__"}
    saved = dict(_kernel.BOOT_DEFAULTS)
    results: list[tuple[Block, str]] = []
    try:
        for b in blocks:
            buf = io.StringIO()
            if b.kind == "console":
                results.append((b, "".join(f"$ {cmd}\n{run_console(cmd)}"
                                           for cmd, _shown in b.commands)))
                continue
            code = compile(b.code, f"{rel}:{b.line + 1}", "exec")
            failed = _exec(code, namespace, buf)
            if failed is not None:
                raise AssertionError(
                    f"{rel}, block at line {b.line + 1} raised:\n"
                    + "".join(traceback.format_exception(failed)) + "\nit printed:\n"
                    + buf.getvalue())
            results.append((b, buf.getvalue()))
    finally:
        _kernel.BOOT_DEFAULTS.clear()
        _kernel.BOOT_DEFAULTS.update(saved)
    return results


def check_page(path: Path) -> list[str]:
    """The differences between what a page shows and what its blocks print."""
    problems = []
    for b, out in run_page(path):
        if b.kind == "console":
            got = normalise(out)
            want = normalise("".join(f"$ {c}\n{s}" for c, s in b.commands))
        else:
            got, want = normalise(out), normalise(b.expected or "")
        if got != want:
            problems.append(f"{path.name}, block at line {b.line + 1}:\n--- shown\n{want}\n"
                            f"--- printed\n{got}")
    return problems


def update_page(path: Path) -> bool:
    """Rewrite a page's output blocks with what its blocks print; True if it changed."""
    text = path.read_text()
    lines = text.split("\n")
    edits: list[tuple[int, int, list[str]]] = []  # (start, end exclusive, replacement)
    for b, out in run_page(path):
        if b.kind == "console":
            edits.append((b.line, b.fence_end, normalise(out).split("\n")))
            continue
        got = normalise(out)
        new = ["```text", *got.split("\n"), "```"] if got else []
        if b.out_span is not None:
            s, e = b.out_span
            if new:
                edits.append((s, e + 1, new))
            else:  # drop the block and the blank lines before it
                while s > b.fence_end + 1 and not lines[s - 1].strip():
                    s -= 1
                edits.append((s, e + 1, []))
        elif new:
            edits.append((b.fence_end + 1, b.fence_end + 1, ["", *new]))
    for s, e, rep in sorted(edits, reverse=True):
        lines[s:e] = rep
    new_text = "\n".join(lines)
    if new_text != text:
        path.write_text(new_text)
        return True
    return False


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if MARK in p.read_text())


def main(argv: list[str]) -> int:
    update = "--update" in argv
    paths = [Path(a).resolve() for a in argv if not a.startswith("--")] or pages()
    bad = 0
    for p in paths:
        if update:
            if update_page(p):
                print(f"updated {p.relative_to(ROOT)}")
        else:
            for problem in check_page(p):
                bad += 1
                print(problem)
    return 1 if bad else 0


if __name__ == "__main__":

    sys.exit(main(sys.argv[1:]))
