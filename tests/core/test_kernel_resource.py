"""The resource tree (kernel/resource.c): request_resource, insert_resource,
__request_region nesting, BUSY/EXCLUSIVE/MUXED, the release paths and the
/proc/iomem and /proc/ioports text (r_show)."""

from __future__ import annotations

import pytest
from core_rig import Rig, new_lines
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.kernel import ioport as F
from iomem.kernel import resource as R
from iomem.kernel.errno import EBUSY, EINVAL
from iomem.kernel.resource import Resource

MEM = F.IORESOURCE_MEM
BUSY = F.IORESOURCE_BUSY


def mem(start: int, end: int, name: str | None = "r", flags: int = 0) -> Resource:
    return Resource(start, end, name, MEM | flags)


def snapshot(root: Resource) -> list[tuple]:
    """The whole tree, in pre-order: identity, depth, range, name, flags."""
    out = []

    def walk(node: Resource, depth: int) -> None:
        for c in node.children:
            assert c.parent is node
            out.append((id(c), depth, c.start, c.end, c.name, c.flags))
            walk(c, depth + 1)
    walk(root, 0)
    return out


@pytest.fixture
def root() -> Resource:
    return R.new_roots()[0]


# -- request_resource ----------------------------------------------------------------------

def test_roots_are_the_kernels() -> None:
    iomem, ioport = R.new_roots()
    assert (iomem.name, iomem.start, iomem.end, iomem.flags) == (
        "PCI mem", 0, 0xFFFFFFFFFFFFFFFF, MEM)
    assert (ioport.name, ioport.start, ioport.end, ioport.flags) == (
        "PCI IO", 0, 0xFFFF, F.IORESOURCE_IO)


def test_request_resource_keeps_children_sorted_and_never_sets_busy(root: Resource) -> None:
    b = mem(0x2000, 0x2FFF, "b")
    a = mem(0x1000, 0x1FFF, "a")
    c = mem(0x3000, 0x3FFF, "c")
    for r in (b, a, c):
        assert R.request_resource(root, r) == 0
    assert root.children == [a, b, c]
    assert a.sibling is b and b.sibling is c and c.sibling is None and root.child is a
    assert all(not r.flags & BUSY for r in (a, b, c))


def test_request_resource_conflicts(root: Resource) -> None:
    win = mem(0x1000, 0x1FFF, "window")
    R.request_resource(root, win)
    before = snapshot(root)
    inside = mem(0x1100, 0x11FF, "inside")  # it never descends into a container
    assert R.request_resource(root, inside) == -EBUSY
    assert R.request_resource_conflict(root, inside) is win
    assert inside.parent is None
    bad = mem(0x5000, 0x4FFF)
    assert R.request_resource_conflict(root, bad) is root  # end < start
    io_root = R.new_roots()[1]
    assert R.request_resource_conflict(io_root, Resource(0xFFF0, 0x1000F, "x",
                                                         F.IORESOURCE_IO)) is io_root
    assert snapshot(root) == before


# -- insert_resource -----------------------------------------------------------------------

def test_insert_resource_adopts_what_it_covers(root: Resource) -> None:
    a, b = mem(0x1000, 0x10FF, "a"), mem(0x1200, 0x12FF, "b")
    after = mem(0x3000, 0x30FF, "after")
    for r in (a, b, after):
        R.request_resource(root, r)
    bus = mem(0x1000, 0x1FFF, "PCI Bus 0000:00")
    assert R.insert_resource(root, bus) == 0
    assert root.children == [bus, after]
    assert bus.children == [a, b] and a.parent is bus and b.parent is bus
    R.check_tree(root)


def test_insert_resource_goes_as_deep_as_it_fits(root: Resource) -> None:
    bus = mem(0x1000, 0x1FFF, "bus")
    R.request_resource(root, bus)
    bar = mem(0x1800, 0x18FF, "bar")
    assert R.insert_resource(root, bar) == 0
    assert bar.parent is bus
    same = mem(0x1800, 0x18FF, "same range")  # an identical range wraps the existing one
    assert R.insert_resource(root, same) == 0
    assert same.parent is bus and same.children == [bar]


def test_insert_resource_refuses_a_partial_overlap_and_changes_nothing(root: Resource) -> None:
    R.request_resource(root, mem(0x1000, 0x1FFF, "a"))
    R.request_resource(root, mem(0x3000, 0x3FFF, "b"))
    before = snapshot(root)
    straddler = mem(0x1800, 0x37FF, "x")
    assert R.insert_resource(root, straddler) == -EBUSY
    assert R.insert_resource_conflict(root, straddler).name == "a"
    assert snapshot(root) == before and straddler.parent is None


# -- __request_region ----------------------------------------------------------------------

def test_request_region_nests_into_every_non_busy_parent(root: Resource) -> None:
    bus = mem(0x40000000, 0xFEBFFFFF, "PCI Bus 0000:00", F.IORESOURCE_WINDOW)
    bar = mem(0xFEA00000, 0xFEAFFFFF, "0000:00:04.0")
    R.request_resource(root, bus)
    R.request_resource(bus, bar)
    bar.desc = F.IORES_DESC_RESERVED
    r = R.request_region_locked(root, 0xFEA00000, 0x1000, "edu", 0)
    assert r.parent is bar
    assert r.flags == MEM | BUSY  # type of the parent | BUSY, not the parent's WINDOW bit
    assert r.desc == F.IORES_DESC_RESERVED
    nested = R.request_region_locked(root, 0xFEA00000, 0x10, "again", 0)
    assert nested is None  # BUSY conflicts are final


def test_request_region_takes_the_parents_sysram_bit(root: Resource) -> None:
    ram = mem(0x40000000, 0x7FFFFFFF, "System RAM", F.IORESOURCE_SYSRAM)
    R.request_resource(root, ram)
    r = R.request_region_locked(root, 0x40001000, 0x1000, "Kernel code", 0)
    assert r.parent is ram and r.flags == F.IORESOURCE_SYSTEM_RAM | BUSY


@pytest.mark.parametrize("start, n", [
    (0x41FFF800, 0x1000),   # partial overlap of a non-busy container
    (0x3FFFF000, 0x2000),   # sticks out of the bus window at the bottom
    (0x50000000, 0x1000),   # inside System RAM, which is BUSY
    (0x40FFF000, 0x2000),   # spans two siblings
])
def test_request_region_failures_change_nothing(root: Resource, start: int, n: int) -> None:
    R.request_resource(root, mem(0x40000000, 0x40FFFFFF, "bus a"))
    R.request_resource(root, mem(0x41000000, 0x41FFFFFF, "bus b"))
    R.request_resource(root, mem(0x50000000, 0x5FFFFFFF, "System RAM",
                                 F.IORESOURCE_SYSRAM | BUSY))
    before = snapshot(root)
    assert R.request_region_locked(root, start, n, "driver", 0) is None
    assert snapshot(root) == before


def test_exclusive_and_muxed_regions(rig: Rig) -> None:
    k = rig.k
    r = k.request_mem_region_exclusive(0x9000000, 0x100, "exclusive")
    assert r.flags == MEM | BUSY | F.IORESOURCE_EXCLUSIVE
    assert k.iomem_is_exclusive(0x9000000)
    m = k.request_mem_region_muxed(0x9001000, 0x10, "superio")
    assert m.flags & F.IORESOURCE_MUXED
    before = snapshot(k.iomem_resource)
    with pytest.raises(R.WouldSleepForever, match="superio"):
        k.request_mem_region_muxed(0x9001000, 0x10, "second")
    assert k.request_mem_region(0x9001000, 0x10, "plain") is None  # not muxed: just fails
    assert snapshot(k.iomem_resource) == before


def test_strict_devmem_and_exclusivity(make_rig) -> None:
    strict = make_rig()
    relaxed = make_rig(cmdline="iomem=relaxed")
    for rg in (strict, relaxed):
        rg.k.request_mem_region(0x9000000, 0x1000, "driver")
    assert strict.k.iomem_is_exclusive(0x9000000)
    assert not relaxed.k.iomem_is_exclusive(0x9000000)
    assert relaxed.k.iomem_is_exclusive(0x40000000)  # System RAM always is
    assert make_rig(cmdline="iomem=relaxed iomem=strict").k.strict_devmem


# -- release -------------------------------------------------------------------------------

def test_release_mem_region_frees_the_exact_busy_region(rig: Rig) -> None:
    k = rig.k
    bus = mem(0x9000000, 0x90FFFFF, "PCI Bus")
    k.insert_resource(k.iomem_resource, bus)
    before = snapshot(k.iomem_resource)
    r = k.request_mem_region(0x9000000, 0x1000, "drv")
    assert r.parent is bus
    n = len(k.log)
    k.release_mem_region(0x9000000, 0x1000)
    assert snapshot(k.iomem_resource) == before
    assert new_lines(k, n) == []


@pytest.mark.parametrize("start, n, shown", [
    (0x9000000, 0x800, "<0000000009000000-00000000090007ff>"),    # not the exact range
    (0x9100000, 0x1000, "<0000000009100000-0000000009100fff>"),   # nothing there
    (0x40000000, 0x1000, "<0000000040000000-0000000040000fff>"),  # part of System RAM
    (0x9000000, -4, "<0000000009000000-0000000008fffffb>"),       # resource_size_t wraps
])
def test_release_of_a_nonexistent_region_warns_and_changes_nothing(
        rig: Rig, start: int, n: int, shown: str) -> None:
    k = rig.k
    k.request_mem_region(0x9000000, 0x1000, "drv")
    before = snapshot(k.iomem_resource)
    since = len(k.log)
    k.release_mem_region(start, n)
    # Linux 6.1: printk(KERN_WARNING "... <%016llx-%016llx>\n")
    assert new_lines(k, since) == [f"Trying to free nonexistent resource {shown}"]
    assert k.log.records[-1].level == 4
    assert snapshot(k.iomem_resource) == before


def test_release_resource_takes_the_children_remove_resource_keeps_them(root: Resource) -> None:
    bus = mem(0x1000, 0x1FFF, "bus")
    R.request_resource(root, bus)
    kids = [mem(0x1000, 0x10FF, "a"), mem(0x1800, 0x18FF, "b")]
    for c in kids:
        R.request_resource(bus, c)
    other = mem(0x3000, 0x3FFF, "other")
    R.request_resource(root, other)
    assert R.remove_resource(bus) == 0
    assert root.children == [*kids, other] and all(c.parent is root for c in kids)
    assert bus.parent is None

    bus2 = mem(0x1000, 0x1FFF, "bus2")
    R.insert_resource(root, bus2)
    assert bus2.children == kids
    assert R.release_resource(bus2) == 0
    assert root.children == [other]
    assert bus2.children == kids  # gone with it
    assert R.release_resource(bus2) == -EINVAL  # not in a tree any more


def test_adjust_resource_stays_between_its_neighbours(root: Resource) -> None:
    a, b, c = mem(0x1000, 0x1FFF, "a"), mem(0x3000, 0x3FFF, "b"), mem(0x5000, 0x5FFF, "c")
    for r in (a, b, c):
        R.request_resource(root, r)
    kid = mem(0x3100, 0x31FF, "kid")
    R.request_resource(b, kid)
    assert R.adjust_resource(b, 0x2000, 0x3000) == 0  # grows into the gaps
    assert (b.start, b.end) == (0x2000, 0x4FFF)
    assert R.adjust_resource(b, 0x6000, 0x100) == -EBUSY  # would jump over c
    assert R.adjust_resource(b, 0x1800, 0x1000) == -EBUSY  # overlaps a
    assert R.adjust_resource(b, 0x3200, 0x100) == -EBUSY  # would drop its child
    assert R.adjust_resource(b, 0x3000, 0) == -EBUSY  # empty
    assert (b.start, b.end) == (0x2000, 0x4FFF) and root.children == [a, b, c]
    loose = mem(0x0, 0xFFF, "loose", 0)
    R.request_resource(loose, mem(0x800, 0x8FF, "child"))
    assert R.adjust_resource(loose, 0x900, 0x100) == -EBUSY  # no parent: children still count
    assert R.adjust_resource(loose, 0x0, 0x2000) == 0 and loose.end == 0x1FFF


# -- /proc/iomem and /proc/ioports ---------------------------------------------------------

def qemu_pc_tree() -> Resource:
    root = R.new_roots()[0]
    for start, end, name, flags in [
        (0x0, 0xFFF, "Reserved", BUSY),
        (0x1000, 0x9FBFF, "System RAM", F.IORESOURCE_SYSRAM | BUSY),
        (0x40000000, 0xFEBFFFFF, "PCI Bus 0000:00", F.IORESOURCE_WINDOW),
        (0xFEC00000, 0xFEC003FF, "IOAPIC 0", BUSY),
        (0xFED00000, 0xFED003FF, "HPET 0", 0),
        (0xFEE00000, 0xFEE00FFF, "Local APIC", BUSY),
        (0x100000000, 0x17FFFFFFF, "PCI Bus 0000:00", F.IORESOURCE_WINDOW),
    ]:
        assert R.request_resource(root, mem(start, end, name, flags)) == 0
    bus = root.children[2]
    assert R.request_resource(bus, mem(0xFD000000, 0xFDFFFFFF, "0000:00:02.0")) == 0
    assert R.request_resource(bus, mem(0xFEA00000, 0xFEAFFFFF, "0000:00:04.0")) == 0
    assert R.request_region_locked(root, 0xFED00000, 0x400, "PNP0103:00", 0) is not None
    return root


def test_proc_iomem_matches_a_real_qemu_pc() -> None:
    assert R.r_show(qemu_pc_tree()) == (
        "00000000-00000fff : Reserved\n"
        "00001000-0009fbff : System RAM\n"
        "40000000-febfffff : PCI Bus 0000:00\n"
        "  fd000000-fdffffff : 0000:00:02.0\n"
        "  fea00000-feafffff : 0000:00:04.0\n"
        "fec00000-fec003ff : IOAPIC 0\n"
        "fed00000-fed003ff : HPET 0\n"
        "  fed00000-fed003ff : PNP0103:00\n"
        "fee00000-fee00fff : Local APIC\n"
        "100000000-17fffffff : PCI Bus 0000:00\n")


def test_proc_iomem_for_an_unprivileged_reader_has_zeroed_addresses() -> None:
    text = R.r_show(qemu_pc_tree(), privileged=False)
    assert text.splitlines()[:4] == [
        "00000000-00000000 : Reserved",
        "00000000-00000000 : System RAM",
        "00000000-00000000 : PCI Bus 0000:00",
        "  00000000-00000000 : 0000:00:02.0"]


def test_depth_is_capped_at_max_iores_level_and_a_missing_name_is_bad(root: Resource) -> None:
    parent = root
    for i in range(8):
        child = mem(0x1000, 0x1FFF, None if i == 7 else f"level{i}")
        R.request_resource(parent, child)
        parent = child
    assert F.MAX_IORES_LEVEL == 5
    assert R.r_show(root) == (
        "00001000-00001fff : level0\n"
        "  00001000-00001fff : level1\n"
        "    00001000-00001fff : level2\n"
        "      00001000-00001fff : level3\n"
        "        00001000-00001fff : level4\n"
        "          00001000-00001fff : level5\n"
        "          00001000-00001fff : level6\n"
        "          00001000-00001fff : <BAD>\n")


def test_proc_ioports_uses_width_4(rig: Rig) -> None:
    k = rig.k
    k.request_region(0x60, 1, "keyboard")
    k.request_region(0x64, 1, "keyboard")
    pci = Resource(0x1000, 0xFFFF, "PCI Bus 0000:00", F.IORESOURCE_IO | F.IORESOURCE_WINDOW)
    k.insert_resource(k.ioport_resource, pci)
    k.request_region(0xC000, 0x20, "0000:00:03.0")
    assert k.proc_ioports() == (
        "0060-0060 : keyboard\n"
        "0064-0064 : keyboard\n"
        "1000-ffff : PCI Bus 0000:00\n"
        "  c000-c01f : 0000:00:03.0\n")
    assert k.proc_ioports(privileged=False).splitlines()[0] == "0000-0000 : keyboard"


def test_proc_iomem_width_is_a_minimum(rig: Rig) -> None:
    k = rig.k
    k.request_mem_region(0x8000000000, 0x1000, "high")
    assert k.proc_iomem() == ("40000000-400fffff : System RAM\n"
                              "8000000000-8000000fff : high\n")


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, exc", [
    ((1.0, 2), TypeError), (("0", 2), TypeError), ((True, 4), TypeError),
    ((0, 4, None, 0.5), TypeError), ((-1, 4), ValueError), ((0, 2**64), ValueError),
    ((2**64, 2**64), ValueError),
])
def test_bad_resources_are_refused(args: tuple, exc: type) -> None:
    with pytest.raises(exc):
        Resource(*args)


@pytest.mark.parametrize("start, n", [
    (0x9000000, 0), (0x9000000, -0x1000), (-0x1000, 0x2000),
    (0xFFFFFFFFFFFFF000, 0x2000),  # wraps past the top of resource_size_t
])
def test_bad_ranges_are_refused_and_change_nothing(rig: Rig, start: int, n: int) -> None:
    k = rig.k
    before = snapshot(k.iomem_resource)
    assert k.request_mem_region(start, n, "bad") is None
    assert snapshot(k.iomem_resource) == before


@pytest.mark.parametrize("start, n", [("0x9000000", 0x1000), (0x9000000, 4.0),
                                      (0x9000000, None), (True, 0x1000)])
def test_non_int_ranges_are_a_type_error_and_change_nothing(rig: Rig, start, n) -> None:
    k = rig.k
    before = snapshot(k.iomem_resource)
    with pytest.raises(TypeError, match="must be an integer"):
        k.request_mem_region(start, n, "bad")
    with pytest.raises(TypeError, match="must be an integer"):
        k.release_mem_region(start, n)
    with pytest.raises(TypeError, match="must be an integer"):
        k.request_region(start, n, "bad")
    assert snapshot(k.iomem_resource) == before


# -- properties ----------------------------------------------------------------------------

UNIT = 0x100
span = st.tuples(st.integers(0, 0x3F), st.integers(1, 0x10))
ops = st.lists(st.one_of(
    st.tuples(st.just("request_region"), span),
    st.tuples(st.just("insert_resource"), span),
    st.tuples(st.just("request_resource"), span),
    st.tuples(st.just("release"), st.integers(0, 40)),
), max_size=40)


def initial_tree() -> Resource:
    root = R.new_roots()[0]
    R.request_resource(root, mem(0x0, 0x7FF, "Reserved", BUSY))
    bus = mem(0x1000, 0x2FFF, "PCI Bus", F.IORESOURCE_WINDOW)
    R.request_resource(root, bus)
    R.request_resource(bus, mem(0x1800, 0x1BFF, "BAR"))
    R.request_resource(root, mem(0x3000, 0x37FF, "System RAM", F.IORESOURCE_SYSRAM | BUSY))
    return root


@settings(max_examples=120, deadline=None)
@given(ops)
def test_random_request_insert_release_sequences(seq: list[tuple]) -> None:
    root = initial_tree()
    initial = snapshot(root)
    live: list[tuple[str, Resource]] = []
    warnings: list[str] = []

    def release(kind: str, r: Resource) -> None:
        if kind == "request_region":
            got = R.release_region_locked(root, r.start, r.size(), warnings.append)
            assert got is r
        elif kind == "insert_resource":
            assert R.remove_resource(r) == 0
        else:
            assert R.release_resource(r) == 0

    for op, arg in seq:
        before = snapshot(root)
        if op == "release":
            if not live:
                continue
            kind, r = live[arg % len(live)]
            if kind != "insert_resource" and r.children:
                continue  # releasing it would take others' resources along
            live.remove((kind, r))
            release(kind, r)
        else:
            start, size = arg[0] * UNIT, arg[1] * UNIT
            if op == "request_region":
                r = R.request_region_locked(root, start, size, "drv", 0)
                ok = r is not None
            else:
                r = mem(start, start + size - 1, op)
                fn = R.insert_resource if op == "insert_resource" else R.request_resource
                ok = fn(root, r) == 0
            if ok:
                live.append((op, r))
            else:
                assert snapshot(root) == before  # a failed request changes nothing
        R.check_tree(root)  # siblings sorted, disjoint, inside their parent
    for kind, r in reversed(live):
        release(kind, r)
        R.check_tree(root)
    assert warnings == []
    assert snapshot(root) == initial
