"""Sanitizer reports: where, what, which rule, how to fix; as text and as JSON.

The text form starts as compilers do (``file:line: error: [rule] message``)
so editors and CI logs link it; the JSON form carries the same fields.
Attribution walks the Python stack to the first frame outside iomem (and
outside the interpreter's own library): the driver's line, not the
simulator's.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from types import FrameType, TracebackType
from typing import Any

from .rules import ERROR, rule

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: iomem's own drivers are drivers: their lines are what reports point at
_DRIVERS = os.path.join(_PKG, "drivers") + os.sep
#: code a board runs while it boots is the platform's, not a driver's
_BOARDS = os.path.join(_PKG, "boards") + os.sep
_RUNTIME = tuple({os.path.abspath(p) + os.sep for p in
                  (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                   sysconfig.get_paths()["platlib"]) if p})


def _is_user(path: str) -> bool:
    if path.startswith("<"):
        return False
    path = os.path.abspath(path)
    if path.startswith(_DRIVERS):
        return True
    return not path.startswith(_PKG) and not path.startswith(_RUNTIME)


@dataclass(frozen=True)
class Site:
    """A place in the driver's source."""

    file: str | None = None
    line: int | None = None
    function: str | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "<iomem>"
        return f"{_short(self.file)}:{self.line}"

    def describe(self) -> str:
        if self.file is None:
            return "inside iomem"
        return f"{self}{f' in {self.function}()' if self.function else ''}"


NOWHERE = Site()


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def user_frame(frame: FrameType | None = None) -> FrameType | None:
    """The innermost frame of the driver (or script) calling into iomem; None for code
    iomem runs itself (a board populating its kernel at boot)."""
    f = frame if frame is not None else sys._getframe(1)
    while f is not None:
        path = f.f_code.co_filename
        if _is_user(path):
            return f
        if os.path.abspath(path).startswith(_BOARDS):
            return None
        f = f.f_back
    return None


def where(frame: FrameType | None = None) -> Site:
    """The driver's file, line and function for the code running now."""
    f = user_frame(frame if frame is not None else sys._getframe(1))
    if f is None:
        return NOWHERE
    return Site(os.path.abspath(f.f_code.co_filename), f.f_lineno, f.f_code.co_name)


def where_tb(tb: TracebackType | None) -> Site:
    """The last driver frame of a traceback (where an exception left the driver)."""
    found = NOWHERE
    while tb is not None:
        co = tb.tb_frame.f_code
        if _is_user(co.co_filename):
            found = Site(os.path.abspath(co.co_filename), tb.tb_lineno, co.co_name)
        tb = tb.tb_next
    return found


@dataclass
class Report:
    """One finding of the sanitizer."""

    rule: str
    severity: str
    message: str
    site: Site = NOWHERE
    phys: int | None = None
    vaddr: int | None = None
    register: str | None = None
    notes: list[str] = field(default_factory=list)
    #: how many times the same rule fired at the same place
    count: int = 1

    @property
    def doc(self) -> str:
        return rule(self.rule).doc

    @property
    def fix(self) -> str:
        return rule(self.rule).fix

    @property
    def title(self) -> str:
        return rule(self.rule).title

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def text(self) -> str:
        head = f"{self.site}: {self.severity}: [{self.rule}] {self.message}"
        lines = [head]
        if self.site.function and self.site.function != "<module>":
            lines.append(f"    in {self.site.function}()")
        where_bits = []
        if self.register:
            where_bits.append(f"register {self.register}")
        if self.phys is not None:
            where_bits.append(f"phys {self.phys:#x}")
        if self.vaddr is not None:
            where_bits.append(f"virt {self.vaddr:#x}")
        if where_bits:
            lines.append(f"    at {', '.join(where_bits)}")
        lines += [f"    note: {n}" for n in self.notes]
        if self.count > 1:
            lines.append(f"    (seen {self.count} times here)")
        lines.append(f"    rule: {self.title} ({self.doc})")
        lines.append(f"    fix: {self.fix}")
        return "\n".join(lines)

    __str__ = text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["site"] = {"file": self.site.file, "line": self.site.line,
                     "function": self.site.function}
        d.update(title=self.title, doc=self.doc, fix=self.fix)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def render_text(reports: list[Report]) -> str:
    """All reports, then a summary line."""
    if not reports:
        return "iomem sanitizer: no problems found"
    errors = sum(1 for r in reports if r.is_error)
    warnings = len(reports) - errors
    body = "\n\n".join(r.text() for r in reports)
    return (f"{body}\n\niomem sanitizer: {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}")


def render_json(reports: list[Report], indent: int | None = 2) -> str:
    errors = sum(1 for r in reports if r.is_error)
    return json.dumps({"errors": errors, "warnings": len(reports) - errors,
                       "reports": [r.to_dict() for r in reports]}, indent=indent)
