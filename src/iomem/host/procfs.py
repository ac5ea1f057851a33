"""``/proc/iomem``: who holds which physical range (kernel/resource.c, ``r_show``).

Each line is ``"%*s%0*llx-%0*llx : %s"``: two spaces per nesting level, the
start and end (inclusive), the name. Only readers with CAP_SYS_ADMIN see the
addresses; everyone else gets the same tree with every start and end printed
as zero, which :func:`read_iomem` detects and says so instead of returning a
tree that claims everything lives at address 0.

The file does not show the BUSY flag, so who *holds* a range is read from the
names: bus windows (``PCI Bus 0000:00``), a PCI function's BAR resources
(named by the function, ``0000:00:04.0``) and a platform device's resources
(``9000000.pl011``, ``pl011@9000000``) are containers the PCI and OF cores
register for every device; ``System RAM`` and firmware ranges are memory;
anything nested in a device's resource, and any other entry, is a claim a
driver or the platform made (``e1000`` under a BAR, ``virtio-pci-modern``,
``IOAPIC 0``, ``PNP0103:00``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..user.errors import MmioError

_LINE = re.compile(r"^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$")
_PCI_FUNCTION = re.compile(r"^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
# a platform device's own resource: "9000000.pl011" (dev_name) or "pl011@9000000" (node)
_PLATFORM_DEVICE = re.compile(r"^(?:[0-9a-f]+\.[\w,.-]+|[\w,.-]+@[0-9a-f]+)$")
_CONTAINER_PREFIXES = ("PCI Bus ", "PCI MMCONFIG", "PCI ECAM")
#: Names of memory (not device) ranges: RAM, the kernel image in it, firmware tables.
MEMORY_NAMES = frozenset({
    "System RAM", "Kernel code", "Kernel rodata", "Kernel data", "Kernel bss",
    "Reserved", "reserved", "ACPI Tables", "ACPI Non-volatile Storage", "System ROM",
    "Video ROM", "Adapter ROM", "Persistent Memory", "Persistent Memory (legacy)",
    "Soft Reserved", "Crash kernel", "Unknown E820 type",
})


class IomemUnavailable(MmioError, PermissionError):
    """/proc/iomem was read without CAP_SYS_ADMIN: the kernel hid every address."""


@dataclass
class IomemEntry:
    """One resource of the tree: ``[start, end]`` inclusive, as the kernel prints it."""

    start: int
    end: int
    name: str
    depth: int
    parent: IomemEntry | None = field(default=None, repr=False)
    children: list[IomemEntry] = field(default_factory=list, repr=False)

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    @property
    def kind(self) -> str:
        """``container`` (bus window, a device's own resource), ``memory`` (RAM, firmware)
        or ``claim`` (what a driver requested: anything else, and anything nested in a
        device's own resource, whatever its name)."""
        if self.name in MEMORY_NAMES or self.name.startswith("Kernel "):
            return "memory"
        if self.name.startswith(_CONTAINER_PREFIXES):
            return "container"
        if _PCI_FUNCTION.match(self.name) or _PLATFORM_DEVICE.match(self.name):
            parent = self.parent
            if parent is not None and parent.kind == "container" and not \
                    parent.name.startswith(_CONTAINER_PREFIXES):
                return "claim"
            return "container"
        return "claim"

    def overlaps(self, start: int, end: int) -> bool:
        return self.start <= end and start <= self.end

    def path(self) -> list[IomemEntry]:
        """This entry and its ancestors, outermost first."""
        chain = []
        node: IomemEntry | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    def __str__(self) -> str:
        return f"{self.start:08x}-{self.end:08x} : {self.name}"


@dataclass
class Iomem:
    """The parsed tree (top-level entries in ``roots``)."""

    roots: list[IomemEntry]

    def walk(self) -> Iterator[IomemEntry]:
        """Every entry in file order (pre-order)."""
        stack = list(reversed(self.roots))
        while stack:
            e = stack.pop()
            yield e
            stack.extend(reversed(e.children))

    def overlapping(self, start: int, end: int) -> list[IomemEntry]:
        """Entries that share at least one byte with ``[start, end]``, outermost first."""
        return [e for e in self.walk() if e.overlaps(start, end)]

    def find(self, name: str) -> list[IomemEntry]:
        return [e for e in self.walk() if e.name == name]

    def owners(self, start: int, end: int) -> list[IomemEntry]:
        """Claims (driver or platform) and memory ranges that overlap ``[start, end]``."""
        return [e for e in self.overlapping(start, end) if e.kind != "container"]


def parse_iomem(text: str, *, source: str = "/proc/iomem") -> Iomem:
    """Parse /proc/iomem text; raises IomemUnavailable for the unprivileged all-zero view."""
    roots: list[IomemEntry] = []
    stack: list[IomemEntry] = []
    entries = 0
    all_zero = True
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"{source}:{lineno}: not a resource line: {line!r}")
        indent, s, e, name = m.groups()
        depth = len(indent) // 2
        start, end = int(s, 16), int(e, 16)
        entries += 1
        if start or end:
            all_zero = False
        while stack and stack[-1].depth >= depth:
            stack.pop()
        parent = stack[-1] if stack else None
        entry = IomemEntry(start, end, name, depth, parent)
        (parent.children if parent else roots).append(entry)
        stack.append(entry)
    if entries > 1 and all_zero:
        raise IomemUnavailable(
            f"{source} shows every range as 00000000-00000000: the kernel prints real "
            f"addresses only to readers with CAP_SYS_ADMIN; run as root to see who owns what")
    return Iomem(roots)


def read_iomem(path: str | Path = "/proc/iomem") -> Iomem:
    """Read and parse /proc/iomem, or /proc/ioports, which has the same format."""
    return parse_iomem(Path(path).read_text(), source=str(path))


def describe_owner(entry: IomemEntry) -> str:
    """``'e1000' (febc0000-febdffff, under 0000:00:03.0)``: who holds a range, in words."""
    where = f"{entry.start:08x}-{entry.end:08x}"
    if entry.parent is not None:
        where += f", under {entry.parent.name}"
    return f"'{entry.name}' ({where})"


def write_refusal(iomem: Iomem, start: int, end: int, *, space: str = "mem") -> str | None:
    """Why writing to ``[start, end]`` would go behind a kernel driver's back, or None.

    Memory (System RAM and friends) and driver claims both count; bus windows
    and a PCI function's own BAR resources do not. ``space="io"`` reads the tree
    as /proc/ioports.
    """
    owners = iomem.owners(start, end)
    if not owners:
        return None
    if space == "io":
        rng, source = f"[io  {start:#06x}-{end:#06x}]", "/proc/ioports"
    else:
        rng, source = f"[mem {start:#010x}-{end:#010x}]", "/proc/iomem"
    mem = [e for e in owners if e.kind == "memory"]
    if mem and space == "mem":
        what = ("RAM the kernel uses" if mem[-1].name.startswith(("System RAM", "Kernel "))
                else "a range the firmware reserved")
        return (f"{rng} is {describe_owner(mem[-1])} in {source}: {what}, not a device's "
                f"registers")
    held = owners[-1]
    return (f"{rng} is held by {describe_owner(held)} in {source}: a kernel driver owns it, "
            f"and stores behind its back can crash the device or the machine")
