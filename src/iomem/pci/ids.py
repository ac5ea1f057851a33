"""The PCI ID database (pci.ids) and pciutils' name lookup rules (lib/names.c,
lib/names-parse.c), so names come out exactly as ``lspci`` prints them.

The database is the one lspci reads: ``/usr/share/misc/pci.ids`` (Debian's
``pci.ids`` package), or ``/usr/share/hwdata/pci.ids`` elsewhere.  Without
one every name is numeric ("Device 1234:11e8", "Class 00ff"), as lspci
prints them when it finds no file.
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache

DEFAULT_PATHS = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids",
                 "/usr/share/misc/pci.ids.gz", "/usr/share/pci.ids")

# lookup flags (lib/pci.h)
PCI_LOOKUP_VENDOR = 1
PCI_LOOKUP_DEVICE = 2
PCI_LOOKUP_CLASS = 4
PCI_LOOKUP_SUBSYSTEM = 8
PCI_LOOKUP_PROGIF = 16
PCI_LOOKUP_NUMERIC = 0x10000
PCI_LOOKUP_NO_NUMBERS = 0x20000
PCI_LOOKUP_MIXED = 0x40000


class IdsParseError(ValueError):
    """A pci.ids line lspci would refuse ("Parse error at FILE, line N")."""


class PciIds:
    """The entries of one pci.ids file, keyed as pciutils keys them."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.vendors: dict[int, str] = {}
        self.devices: dict[tuple[int, int], str] = {}
        self.subsystems: dict[tuple[int, int, int, int], str] = {}
        self.gen_subsystems: dict[tuple[int, int], str] = {}
        self.classes: dict[int, str] = {}
        self.subclasses: dict[tuple[int, int], str] = {}
        self.progifs: dict[tuple[int, int, int], str] = {}
        if path is not None:
            self._load(path)

    def _load(self, path: str) -> None:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:  # type: ignore[operator]
            self._parse(f)

    def _parse(self, lines) -> None:
        cat = None
        id1 = id2 = 0
        for lino, raw in enumerate(lines, 1):
            line = raw.rstrip("\r\n")
            if line and line[-1] in " \t":
                line = line[:-1]
            if not line.strip(" \t") or line.lstrip(" \t").startswith("#"):
                continue
            nest = len(line) - len(line.lstrip("\t"))
            p = line[nest:]

            def hexn(s: str, n: int, lino: int = lino) -> int:
                v = s[:n]
                if len(v) != n or any(c not in "0123456789abcdefABCDEF" for c in v):
                    raise IdsParseError(f"Parse error at {self.path}, line {lino}")
                return int(v, 16)

            def name_after(s: str, lino: int = lino) -> str:
                nm = s.lstrip(" \t")
                if not nm:
                    raise IdsParseError(f"Parse error at {self.path}, line {lino}")
                return nm

            if nest == 0:
                if p.startswith("C "):
                    id1 = hexn(p[2:], 2)
                    cat = "class"
                    self.classes[id1] = name_after(p[4:])
                elif p.startswith("S "):
                    id1 = hexn(p[2:], 4)
                    cat = "gensub"
                elif len(p) > 1 and "A" <= p[0] <= "Z" and p[1] == " ":
                    cat = "unknown"
                else:
                    id1 = hexn(p, 4)
                    cat = "vendor"
                    self.vendors[id1] = name_after(p[4:])
            elif cat == "unknown":
                continue
            elif nest == 1:
                if cat in ("vendor", "device", "subsystem"):
                    id2 = hexn(p, 4)
                    cat = "device"
                    self.devices[(id1, id2)] = name_after(p[4:])
                elif cat == "gensub":
                    self.gen_subsystems[(id1, hexn(p, 4))] = name_after(p[4:])
                elif cat in ("class", "subclass", "progif"):
                    id2 = hexn(p, 2)
                    cat = "subclass"
                    self.subclasses[(id1, id2)] = name_after(p[2:])
                else:
                    raise IdsParseError(f"Parse error at {self.path}, line {lino}")
            elif nest == 2:
                if cat in ("device", "subsystem"):
                    sv, sd = hexn(p, 4), hexn(p[5:], 4)
                    cat = "subsystem"
                    self.subsystems[(id1, id2, sv, sd)] = name_after(p[9:])
                elif cat in ("subclass", "progif"):
                    cat = "progif"
                    self.progifs[(id1, id2, hexn(p, 2))] = name_after(p[2:])
                else:
                    raise IdsParseError(f"Parse error at {self.path}, line {lino}")
            else:
                raise IdsParseError(f"Parse error at {self.path}, line {lino}")


@lru_cache(maxsize=8)
def load_ids(path: str | None = None) -> PciIds:
    """The database at ``path`` (default: where lspci looks); empty if there is none."""
    if path is None:
        path = next((p for p in DEFAULT_PATHS if os.path.exists(p)), None)
        if path is None:
            return PciIds()
    elif not os.path.exists(path):
        return PciIds()
    return PciIds(path)


class Names:
    """``pci_lookup_name`` with lspci's ``-n`` count (0 names, 1 numbers, 2 both)."""

    def __init__(self, ids: PciIds, numeric: int = 0) -> None:
        self.ids = ids
        self.numeric = numeric

    def _flags(self, flags: int) -> int:
        if not flags & PCI_LOOKUP_NO_NUMBERS:
            if self.numeric > 1:
                flags |= PCI_LOOKUP_MIXED
            elif self.numeric:
                flags |= PCI_LOOKUP_NUMERIC
        if flags & PCI_LOOKUP_MIXED:
            flags &= ~PCI_LOOKUP_NUMERIC
        return flags

    @staticmethod
    def _format(flags: int, name: str | None, num: str, unknown: str) -> str | None:
        if flags & PCI_LOOKUP_NO_NUMBERS and name is None:
            return None
        if flags & PCI_LOOKUP_NUMERIC:
            return num
        if name is None:
            return f"{unknown} [{num}]" if flags & PCI_LOOKUP_MIXED else f"{unknown} {num}"
        if not flags & PCI_LOOKUP_MIXED:
            return name
        return f"{name} [{num}]"

    @staticmethod
    def _pair(flags: int, v: str | None, d: str | None, num: str) -> str | None:
        if flags & PCI_LOOKUP_NO_NUMBERS and (v is None or d is None):
            return None
        if flags & PCI_LOOKUP_NUMERIC:
            return num
        if flags & PCI_LOOKUP_MIXED:
            if v and d:
                return f"{v} {d} [{num}]"
            if not v:
                return f"Device [{num}]"
            return f"{v} Device [{num}]"
        if v and d:
            return f"{v} {d}"
        if not v:
            return f"Device {num}"
        return f"{v} Device {num[5:]}"

    def _subsys(self, iv: int, idev: int, isv: int, isd: int) -> str | None:
        d = None
        if iv > 0 and idev > 0:
            d = self.ids.subsystems.get((iv, idev, isv, isd))
        if d is None:
            d = self.ids.gen_subsystems.get((isv, isd))
        if d is None and iv == isv and idev == isd:
            d = self.ids.devices.get((iv, idev))
        return d

    def vendor_device(self, vendor: int, device: int, flags: int = 0) -> str | None:
        f = self._flags(PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | flags)
        return self._pair(f, self.ids.vendors.get(vendor), self.ids.devices.get((vendor, device)),
                          f"{vendor:04x}:{device:04x}")

    def vendor(self, vendor: int) -> str | None:
        f = self._flags(PCI_LOOKUP_VENDOR)
        return self._format(f, self.ids.vendors.get(vendor), f"{vendor:04x}", "Vendor")

    def device(self, vendor: int, device: int) -> str | None:
        f = self._flags(PCI_LOOKUP_DEVICE)
        return self._format(f, self.ids.devices.get((vendor, device)), f"{device:04x}", "Device")

    def subsystem(self, vendor: int, device: int, svid: int, sdid: int) -> str | None:
        f = self._flags(PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE)
        return self._pair(f, self.ids.vendors.get(svid), self._subsys(vendor, device, svid, sdid),
                          f"{svid:04x}:{sdid:04x}")

    def subsystem_vendor(self, svid: int) -> str | None:
        f = self._flags(PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR)
        return self._format(f, self.ids.vendors.get(svid), f"{svid:04x}", "Unknown vendor")

    def subsystem_device(self, vendor: int, device: int, svid: int, sdid: int) -> str | None:
        f = self._flags(PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE)
        return self._format(f, self._subsys(vendor, device, svid, sdid), f"{sdid:04x}", "Device")

    def cls(self, cls: int) -> str | None:
        f = self._flags(PCI_LOOKUP_CLASS)
        name = self.ids.subclasses.get((cls >> 8, cls & 0xFF))
        if name is None:
            name = self.ids.classes.get(cls >> 8)
            if name is not None and not f & PCI_LOOKUP_NUMERIC:
                f |= PCI_LOOKUP_MIXED
        return self._format(f, name, f"{cls:04x}", "Class")

    def progif(self, cls: int, progif: int) -> str | None:
        """``PCI_LOOKUP_PROGIF | PCI_LOOKUP_NO_NUMBERS``: the name or None."""
        f = self._flags(PCI_LOOKUP_PROGIF | PCI_LOOKUP_NO_NUMBERS)
        name = self.ids.progifs.get((cls >> 8, cls & 0xFF, progif))
        if name is None and cls == 0x0101 and not progif & 0x70:
            parts = [w for bit, w in ((0x80, "Master"), (0x08, "SecP"), (0x04, "SecO"),
                                      (0x02, "PriP"), (0x01, "PriO")) if progif & bit]
            name = " ".join(parts)
        return self._format(f, name, f"{progif:02x}", "ProgIf")


__all__ = ["DEFAULT_PATHS", "IdsParseError", "Names", "PciIds", "load_ids"]
