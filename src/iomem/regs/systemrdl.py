"""SystemRDL in, through the ``systemrdl-compiler`` library (``pip install iomem[regs]``).

The compiler parses, elaborates and checks the description (parameters,
arrays, ``default`` properties, ...); this module walks the elaborated tree
and maps each field's software behaviour (``sw``, ``onread``, ``onwrite``)
onto an :class:`~iomem.regs.Access` mode.  Nested register files and
address maps flatten into one map, named by their path (``dma_ch0_ctrl``);
arrays are unrolled (``ch[2]`` becomes ``ch_2``).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

from .model import Access, Field, Register, RegisterMap


class SystemRDLError(ValueError):
    """The SystemRDL description did not compile; the compiler's messages say why."""


def _ident(path: str) -> str:
    out = re.sub(r"\W+", "_", path).strip("_")
    return out if out and not out[0].isdigit() else "_" + out


def _field_access(node: Any, where: str) -> Access:
    from systemrdl.rdltypes import OnReadType, OnWriteType

    readable = node.is_sw_readable
    writable = node.is_sw_writable
    onread = node.get_property("onread")
    onwrite = node.get_property("onwrite")
    if not readable and not writable:
        return Access.RSVD
    if onread is not None:
        if writable:
            warnings.warn(f"SystemRDL {where}: writable field with onread={onread.name} is "
                          "imported as read-to-clear/set (the write side is dropped)",
                          stacklevel=3)
        if onread == OnReadType.rclr:
            return Access.RC
        if onread == OnReadType.rset:
            return Access.RS
        warnings.warn(f"SystemRDL {where}: onread={onread.name} has no model; imported as "
                      "read-only", stacklevel=3)
        return Access.RO
    if not writable:
        return Access.RO
    by_write = {OnWriteType.woclr: Access.W1C, OnWriteType.woset: Access.W1S,
                OnWriteType.wot: Access.W1T, OnWriteType.wzc: Access.W0C,
                OnWriteType.wzs: Access.W0S, OnWriteType.wclr: Access.WC,
                OnWriteType.wset: Access.WS}
    if onwrite is not None:
        if onwrite in by_write:
            return by_write[onwrite]
        warnings.warn(f"SystemRDL {where}: onwrite={onwrite.name} has no model; imported as "
                      "a plain write", stacklevel=3)
    return Access.RW if readable else Access.WO


def from_systemrdl(path: str | os.PathLike[str], top: str | None = None, *,
                   include_paths: Sequence[str] = (),
                   defines: dict[str, str] | None = None) -> RegisterMap:
    """The register map of address map ``top`` (default: the last one defined)
    in a SystemRDL file; offsets are relative to that address map."""
    try:
        from systemrdl import RDLCompileError, RDLCompiler
        from systemrdl.node import RegNode
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading SystemRDL needs the systemrdl-compiler package: "
                          "pip install 'iomem[regs]'") from e

    rdlc = RDLCompiler()
    try:
        rdlc.compile_file(os.fspath(path), incl_search_paths=list(include_paths),
                          defines=defines)
        root = rdlc.elaborate(top_def_name=top)
    except RDLCompileError as e:
        raise SystemRDLError(f"{os.fspath(path)}: SystemRDL compilation failed "
                             "(see the messages above)") from e
    top_node = root.top
    base = top_node.absolute_address
    regs: list[Register] = []
    for node in top_node.descendants(unroll=True):
        if not isinstance(node, RegNode):
            continue
        rel = node.get_path(hier_separator="_", array_suffix="_{index:d}")
        prefix = top_node.get_path(hier_separator="_", array_suffix="_{index:d}")
        rel = rel[len(prefix) + 1:] if rel.startswith(prefix + "_") else rel
        rname = _ident(rel)
        width = node.get_property("regwidth")
        fields: list[Field] = []
        reset = 0
        for f in node.fields():
            fname = _ident(f.inst_name)
            acc = _field_access(f, f"{rname}.{fname}")
            rv = f.get_property("reset")
            if isinstance(rv, int):
                reset |= (rv & ((1 << f.width) - 1)) << f.low
            values: dict[int, str] = {}
            enc = f.get_property("encode")
            if enc is not None:
                for member in enc:
                    values[member.value] = member.name
            fields.append(Field(fname, f.low, f.width, acc, values=values,
                                description=_text(f.get_property("desc"))))
        accesses = {fl.access for fl in fields}
        reg_access = accesses.pop() if len(accesses) == 1 else Access.RW
        fields = [Field(fl.name, fl.lsb, fl.width,
                        None if fl.access is reg_access else fl.access, None, fl.values,
                        fl.description) for fl in fields]
        regs.append(Register(rname, node.absolute_address - base, fields, width=width,
                             access=reg_access, reset=reset,
                             description=_text(node.get_property("desc"))))
    return RegisterMap(_ident(top_node.inst_name), regs, size=top_node.size,
                       description=_text(top_node.get_property("desc")))


def _text(s: str | None) -> str:
    return " ".join(s.split()) if s else ""
