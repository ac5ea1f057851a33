"""CMSIS-SVD in and out.

Import goes through the ``cmsis-svd`` library (``pip install iomem[regs]``),
which resolves ``derivedFrom``, register property inheritance and ``dim``
arrays; this module only maps its model onto ours.  Export writes SVD XML
with the standard library, because SVD is the interchange format that
debuggers, svd2rust and vendor tools already read, and because it comes
back in through the same importer (the tests check that round trip and
validate against the schema the library ships).
"""

from __future__ import annotations

import os
import re
import warnings
import xml.etree.ElementTree as ET
from typing import Any

from .model import Access, Field, Register, RegisterMap

# SVD (access, modifiedWriteValues, readAction) <-> our access modes
_MWV = {"oneToClear": Access.W1C, "oneToSet": Access.W1S, "oneToToggle": Access.W1T,
        "zeroToClear": Access.W0C, "zeroToSet": Access.W0S, "clear": Access.WC,
        "set": Access.WS}
_MWV_OUT = {v: k for k, v in _MWV.items()}


def _need_lib() -> Any:
    try:
        import cmsis_svd  # noqa: F401
        from cmsis_svd import SVDParser
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading SVD needs the cmsis-svd package: "
                          "pip install 'iomem[regs]'") from e
    return SVDParser


def _ident(name: str) -> str:
    out = re.sub(r"\W", "_", name.strip())
    if not out or out[0].isdigit():
        out = "_" + out
    return out


def _enum_value(e: Any) -> str | None:
    return None if e is None else getattr(e, "value", e)


def _access(access: Any, mwv: Any, read_action: Any, where: str) -> Access:
    a = _enum_value(access) or "read-write"
    mw = _enum_value(mwv)
    ra = _enum_value(read_action)
    if ra == "clear":
        if a not in ("read-only",) or mw not in (None, "modify"):
            warnings.warn(f"SVD {where}: {a} with readAction=clear is imported as read-to-clear",
                          stacklevel=3)
        return Access.RC
    if ra == "set":
        return Access.RS
    if a == "read-only":
        return Access.RO
    if mw in _MWV:
        return _MWV[mw]
    if a in ("write-only", "writeOnce"):
        return Access.WO
    return Access.RW


def from_svd(path: str | os.PathLike[str], peripheral: str | None = None) -> RegisterMap:
    """The register map of one peripheral of an SVD file.

    ``peripheral`` may be omitted when the file describes only one.  The
    map's ``base`` is the peripheral's base address, its ``size`` the extent
    of its address blocks.
    """
    parser_cls = _need_lib()
    device = parser_cls.for_xml_file(os.fspath(path)).get_device()
    periphs = device.get_peripherals()
    names = [p.name for p in periphs]
    if peripheral is None:
        if len(periphs) != 1:
            raise ValueError(f"{os.fspath(path)} describes {len(periphs)} peripherals; "
                             f"name one of: {', '.join(names)}")
        p = periphs[0]
    else:
        match = [p for p in periphs if p.name == peripheral]
        if not match:
            raise KeyError(f"{os.fspath(path)} has no peripheral {peripheral!r}; "
                           f"it has: {', '.join(names)}")
        p = match[0]
    regs: list[Register] = []
    for r in p.get_registers():
        width = r.size or device.size or 32
        rname = _ident(r.name)
        raccess = _access(r.access, r.modified_write_values, r.read_action, rname)
        fields = []
        for f in r.get_fields():
            fname = _ident(f.name)
            faccess = _access(f.access or r.access, f.modified_write_values or
                              r.modified_write_values, f.read_action, f"{rname}.{fname}")
            values: dict[int, str] = {}
            for ev_group in f.enumerated_values or ():
                for ev in ev_group.enumerated_values:
                    if ev.value is not None and ev.name:
                        values[ev.value] = ev.name
            fields.append(Field(fname, f.bit_offset, f.bit_width,
                                None if faccess is raccess else faccess,
                                values=values, description=_text(f.description)))
        reset = (r.reset_value or 0) & (r.reset_mask if r.reset_mask is not None
                                        else (1 << width) - 1)
        regs.append(Register(rname, r.address_offset, fields, width=width, access=raccess,
                             reset=reset & ((1 << width) - 1),
                             description=_text(r.description)))
    size = None
    if p.address_blocks:
        size = max(b.offset + b.size for b in p.address_blocks)
        end = max((r.offset + r.size for r in regs), default=0)
        size = max(size, end)
    return RegisterMap(_ident(p.name), regs, size=size, description=_text(p.description),
                       base=p.base_address)


def _text(s: str | None) -> str:
    return " ".join(s.split()) if s else ""


def _access_out(a: Access) -> tuple[str, str | None, str | None]:
    """(access, modifiedWriteValues, readAction) for SVD."""
    if a is Access.RO:
        return "read-only", None, None
    if a is Access.RC:
        return "read-only", None, "clear"
    if a is Access.RS:
        return "read-only", None, "set"
    if a is Access.WO:
        return "write-only", None, None
    if a in _MWV_OUT:
        return "read-write", _MWV_OUT[a], None
    return "read-write", None, None


def _sub(parent: ET.Element, tag: str, text: str | int) -> ET.Element:
    e = ET.SubElement(parent, tag)
    e.text = f"0x{text:X}" if isinstance(text, int) and not isinstance(text, bool) else str(text)
    return e


def to_svd(regmap: RegisterMap, *, base: int | None = None, device: str = "iomem",
           version: str = "1.0") -> str:
    """``regmap`` as an SVD 1.3 document with one peripheral at ``base`` (default:
    the map's own base, else 0).  Reserved fields are left out, as SVD does."""
    root = ET.Element("device", {
        "schemaVersion": "1.3",
        "xmlns:xs": "http://www.w3.org/2001/XMLSchema-instance",
        "xs:noNamespaceSchemaLocation": "CMSIS-SVD.xsd"})
    _sub(root, "name", device)
    _sub(root, "version", version)
    _sub(root, "description", f"{regmap.name} register map exported by iomem")
    _sub(root, "addressUnitBits", "8")
    _sub(root, "width", "32")
    periphs = ET.SubElement(root, "peripherals")
    p = ET.SubElement(periphs, "peripheral")
    _sub(p, "name", regmap.name)
    if regmap.description:
        _sub(p, "description", regmap.description)
    b = base if base is not None else (regmap.base or 0)
    _sub(p, "baseAddress", b)
    blk = ET.SubElement(p, "addressBlock")
    _sub(blk, "offset", 0)
    _sub(blk, "size", max(regmap.size, 1))
    _sub(blk, "usage", "registers")
    regs_el = ET.SubElement(p, "registers")
    for r in regmap.registers:
        if r.access is Access.RSVD:
            continue
        re_ = ET.SubElement(regs_el, "register")
        _sub(re_, "name", r.name)
        if r.description:
            _sub(re_, "description", r.description)
        _sub(re_, "addressOffset", r.offset)
        _sub(re_, "size", str(r.width))
        acc, mwv, ra = _access_out(r.access)
        _sub(re_, "access", acc)
        _sub(re_, "resetValue", r.reset)
        _sub(re_, "resetMask", r.all_ones)
        if mwv:
            _sub(re_, "modifiedWriteValues", mwv)
        if ra:
            _sub(re_, "readAction", ra)
        if r.implicit:
            continue
        fields_el = ET.SubElement(re_, "fields")
        for f in r.fields:
            fa = r.field_access(f)
            if fa is Access.RSVD:
                continue
            fe = ET.SubElement(fields_el, "field")
            _sub(fe, "name", f.name)
            if f.description:
                _sub(fe, "description", f.description)
            _sub(fe, "bitOffset", str(f.lsb))
            _sub(fe, "bitWidth", str(f.width))
            acc, mwv, ra = _access_out(fa)
            _sub(fe, "access", acc)
            if mwv:
                _sub(fe, "modifiedWriteValues", mwv)
            if ra:
                _sub(fe, "readAction", ra)
            if f.values:
                evs = ET.SubElement(fe, "enumeratedValues")
                for v, n in sorted(f.values.items()):
                    ev = ET.SubElement(evs, "enumeratedValue")
                    _sub(ev, "name", _ident(n))
                    _sub(ev, "value", str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
