"""The resource tree (kernel/resource.c): who owns which physical range.

``iomem_resource`` and ``ioport_resource`` are roots of trees whose children
are kept sorted by start and never overlap.  The functions here follow the
kernel's algorithms step for step (conflict rules, nesting of
``__request_region`` into non-busy parents, release walks), because drivers
and ``/proc/iomem`` depend on exactly those rules.  Children are a Python
list instead of a sibling chain; ``sibling`` is derived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from . import ioport as F
from .errno import EBUSY, EINVAL
from .vsprintf import pR

RESOURCE_MAX = 0xFFFFFFFFFFFFFFFF


class Resource:
    """``struct resource``: [start, end] inclusive, a name, flags, a place in a tree."""

    __slots__ = ("start", "end", "name", "flags", "desc", "parent", "children", "__weakref__")

    def __init__(self, start: int = 0, end: int = 0, name: str | None = None, flags: int = 0,
                 desc: int = F.IORES_DESC_NONE) -> None:
        for what, v in (("start", start), ("end", end), ("flags", flags)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"resource {what} must be an integer, not {type(v).__name__}")
        if start < 0 or end > RESOURCE_MAX or start > RESOURCE_MAX or end < -1:
            raise ValueError(f"resource [{start:#x}-{end:#x}] is outside resource_size_t")
        self.start = start
        self.end = end
        self.name = name
        self.flags = flags
        self.desc = desc
        self.parent: Resource | None = None
        self.children: list[Resource] = []

    # -- struct resource fields and helpers ---------------------------------

    @property
    def child(self) -> Resource | None:
        return self.children[0] if self.children else None

    @property
    def sibling(self) -> Resource | None:
        if self.parent is None:
            return None
        sibs = self.parent.children
        i = _index_of(sibs, self)
        return sibs[i + 1] if i + 1 < len(sibs) else None

    def size(self) -> int:
        return self.end - self.start + 1

    def type(self) -> int:
        return self.flags & F.IORESOURCE_TYPE_BITS

    def contains(self, other: Resource) -> bool:
        """``resource_contains``: same type and ``other`` inside ``self``."""
        if self.type() != other.type():
            return False
        if self.flags & F.IORESOURCE_UNSET or other.flags & F.IORESOURCE_UNSET:
            return False
        return self.start <= other.start and self.end >= other.end

    def overlaps(self, other: Resource) -> bool:
        return self.start <= other.end and self.end >= other.start

    def walk(self) -> Iterator[Resource]:
        """Pre-order walk of the descendants (what /proc/iomem shows)."""
        for c in self.children:
            yield c
            yield from c.walk()

    def __repr__(self) -> str:
        return f"<Resource {self.name!r} {pR(self)}>"

    def __str__(self) -> str:
        return pR(self)


def resource_size(res: Resource) -> int:
    return res.end - res.start + 1


def resource_type(res: Resource) -> int:
    return res.flags & F.IORESOURCE_TYPE_BITS


def resource_ext_type(res: Resource) -> int:
    return res.flags & F.IORESOURCE_EXT_TYPE_BITS


def DEFINE_RES_MEM(start: int, size: int, name: str | None = None) -> Resource:  # noqa: N802
    return Resource(start, start + size - 1, name, F.IORESOURCE_MEM)


def DEFINE_RES_IO(start: int, size: int, name: str | None = None) -> Resource:  # noqa: N802
    return Resource(start, start + size - 1, name, F.IORESOURCE_IO)


def DEFINE_RES_IRQ(irq: int, name: str | None = None) -> Resource:  # noqa: N802
    return Resource(irq, irq, name, F.IORESOURCE_IRQ)


def _index_of(lst: list[Resource], res: Resource) -> int:
    for i, r in enumerate(lst):
        if r is res:
            return i
    raise ValueError("resource is not a child of its parent")


def new_roots() -> tuple[Resource, Resource]:
    """Fresh ``iomem_resource`` and ``ioport_resource`` (kernel/resource.c)."""
    iomem = Resource(0, RESOURCE_MAX, "PCI mem", F.IORESOURCE_MEM)
    ioport = Resource(0, 0xFFFF, "PCI IO", F.IORESOURCE_IO)
    return iomem, ioport


# -- insertion ---------------------------------------------------------------

def _request_resource(root: Resource, new: Resource) -> Resource | None:
    """``__request_resource``: link ``new`` among root's children or return the conflict."""
    start, end = new.start, new.end
    if end < start or start < root.start or end > root.end:
        return root
    kids = root.children
    for i, tmp in enumerate(kids):
        if tmp.start > end:
            kids.insert(i, new)
            new.parent = root
            return None
        if tmp.end < start:
            continue
        return tmp
    kids.append(new)
    new.parent = root
    return None


def request_resource_conflict(root: Resource, new: Resource) -> Resource | None:
    return _request_resource(root, new)


def request_resource(root: Resource, new: Resource) -> int:
    """Claim ``new`` directly under ``root``: 0, or -EBUSY on any conflict."""
    return -EBUSY if _request_resource(root, new) is not None else 0


def _insert_resource(parent: Resource, new: Resource) -> Resource | None:
    """``__insert_resource``: place ``new`` at the deepest level that can hold it,
    adopting the existing resources it fully covers."""
    while True:
        first = _request_resource(parent, new)
        if first is None:
            return None
        if first is parent:
            return first
        if first is new:  # duplicated insertion: the kernel WARNs
            return first
        if first.start > new.start or first.end < new.end:
            break
        if first.start == new.start and first.end == new.end:
            break
        parent = first
    kids = parent.children
    i0 = _index_of(kids, first)
    j = i0
    while True:
        nxt = kids[j]
        if nxt.start < new.start or nxt.end > new.end:
            return nxt  # partial overlap: unfixable
        if j + 1 >= len(kids) or kids[j + 1].start > new.end:
            break
        j += 1
    adopted = kids[i0:j + 1]
    del kids[i0:j + 1]
    kids.insert(i0, new)
    new.parent = parent
    new.children = adopted + new.children
    for c in adopted:
        c.parent = new
    return None


def insert_resource_conflict(parent: Resource, new: Resource) -> Resource | None:
    return _insert_resource(parent, new)


def insert_resource(parent: Resource, new: Resource) -> int:
    return -EBUSY if _insert_resource(parent, new) is not None else 0


def _release_resource(old: Resource, release_child: bool) -> int:
    parent = old.parent
    if parent is None:
        return -EINVAL
    kids = parent.children
    for i, tmp in enumerate(kids):
        if tmp is old:
            if release_child or not tmp.children:
                del kids[i]
            else:
                for c in tmp.children:
                    c.parent = parent
                kids[i:i + 1] = tmp.children
                tmp.children = []
            old.parent = None
            return 0
    return -EINVAL


def release_resource(old: Resource) -> int:
    """Unlink ``old`` (with its children still hanging off it)."""
    return _release_resource(old, True)


def remove_resource(old: Resource) -> int:
    """Unlink ``old``; its children move up to its parent."""
    return _release_resource(old, False)


def adjust_resource(res: Resource, start: int, size: int) -> int:
    """``__adjust_resource``: change a resource's range if it still fits its parent,
    stays between its neighbours (the sibling order is kept, never re-sorted) and
    still holds its children; 0 or -EBUSY."""
    end = start + size - 1
    if end < start:
        return -EBUSY
    parent = res.parent
    if parent is not None:
        if start < parent.start or end > parent.end:
            return -EBUSY
        kids = parent.children
        i = _index_of(kids, res)
        if i + 1 < len(kids) and kids[i + 1].start <= end:
            return -EBUSY
        if i > 0 and start <= kids[i - 1].end:
            return -EBUSY
    for c in res.children:
        if c.start < start or c.end > end:
            return -EBUSY
    res.start, res.end = start, end
    return 0


# -- request_region / release_region ------------------------------------------

class WouldSleepForever(RuntimeError):
    """A muxed region is held and nothing in this single-threaded run can release it."""


def request_region_locked(parent: Resource, start: int, n: int, name: str | None,
                          flags: int) -> Resource | None:
    """``__request_region``: claim [start, start+n-1] as BUSY, nesting into every
    non-busy resource that contains it.  Returns the new resource or None."""
    if not isinstance(start, int) or not isinstance(n, int):
        raise TypeError("request_region: start and n must be integers")
    if n <= 0 or start < 0 or start + n - 1 > RESOURCE_MAX:
        return None  # the kernel's end < start / outside-root conflict
    res = Resource(start, start + n - 1, name)
    while True:
        res.flags = resource_type(parent) | resource_ext_type(parent) | F.IORESOURCE_BUSY | flags
        res.desc = parent.desc
        conflict = _request_resource(parent, res)
        if conflict is None:
            return res
        if conflict is not parent and not conflict.flags & F.IORESOURCE_BUSY:
            parent = conflict
            continue
        if conflict.flags & flags & F.IORESOURCE_MUXED:
            raise WouldSleepForever(
                f"{name}: {pR(res)} waits for muxed region '{conflict.name}' {pR(conflict)}, "
                "which no other context will release")
        return None


def release_region_locked(parent: Resource, start: int, n: int,
                          warn: Callable[[str], None]) -> Resource | None:
    """``__release_region``: free the BUSY region exactly [start, start+n-1].

    Returns the released resource, or None after the kernel's warning.
    """
    end = start + n - 1
    node = parent
    while True:
        for res in node.children:
            if res.start <= start and res.end >= end:
                if not res.flags & F.IORESOURCE_BUSY:
                    node = res
                    break
                if res.start != start or res.end != end:
                    warn(_nonexistent(start, end))
                    return None
                node.children.remove(res)
                res.parent = None
                return res
        else:
            warn(_nonexistent(start, end))
            return None


def _nonexistent(start: int, end: int) -> str:
    # Linux 6.1 prints "<%016llx-%016llx>"; 6.2 moved to pr_warn (a "resource: "
    # prefix) and "<%pa-%pa>".
    return (f"Trying to free nonexistent resource "
            f"<{start & RESOURCE_MAX:016x}-{end & RESOURCE_MAX:016x}>")


def find_conflict_spanning(root: Resource, start: int, end: int,
                           page_shift: int = 12) -> Resource | None:
    """x86 ioremap's ``resource sanity check`` (iomem_map_sanity_check): the first
    resource, in pre-order, that overlaps [start, end] and does not cover its pages,
    unless it is BUSY (a driver's claim, not a piece of hardware)."""
    first, last = start >> page_shift, end >> page_shift
    for p in root.walk():
        if p.start > end or p.end < start:
            continue
        if p.start >> page_shift <= first and p.end >> page_shift >= last:
            continue
        if p.flags & F.IORESOURCE_BUSY:
            continue
        return p
    return None


# -- /proc/iomem, /proc/ioports ------------------------------------------------

def r_show(root: Resource, privileged: bool = True) -> str:
    """Render a tree as ``/proc/iomem``/``/proc/ioports`` (r_show in kernel/resource.c)."""
    width = 4 if root.end < 0x10000 else 8
    lines = []
    for r in root.walk():
        depth = 0
        p = r
        while depth < F.MAX_IORES_LEVEL:
            if p.parent is root:
                break
            depth += 1
            p = p.parent
        start, end = (r.start, r.end) if privileged else (0, 0)
        name = r.name if r.name is not None else "<BAD>"
        lines.append(f"{'':{depth * 2}}{start:0{width}x}-{end:0{width}x} : {name}\n")
    return "".join(lines)


def check_tree(root: Resource) -> None:
    """Assert the tree's invariants (children sorted, disjoint, inside, linked)."""
    for node in [root, *root.walk()]:
        prev = None
        for c in node.children:
            assert c.parent is node, f"{c!r} has the wrong parent"
            assert node.start <= c.start <= c.end <= node.end, f"{c!r} outside {node!r}"
            if prev is not None:
                assert prev.end < c.start, f"{prev!r} and {c!r} overlap or are unsorted"
            prev = c
