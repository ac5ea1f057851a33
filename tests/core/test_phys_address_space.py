"""The physical address space: regions, priorities, the flat view and its lookup,
access rules (valid/implemented sizes, alignment, endianness), bus errors and the
``info mtree`` dump."""

from __future__ import annotations

import pytest
from core_rig import Recorder
from hypothesis import given, settings
from hypothesis import strategies as st

import iomem.phys.address_space as AS
from iomem.phys import (
    ABORT,
    BIG,
    IGNORE,
    AccessRules,
    AddressSpace,
    BusError,
    FlatRange,
    Region,
    bswap,
)


def io(name: str, base: int, size: int = 0x100, rules: AccessRules | None = None,
       priority: int = 0) -> tuple[Region, Recorder]:
    dev = Recorder(name, size, rules)
    return Region(name, base, size, "io", ops=dev, priority=priority), dev


# -- RAM and ROM ---------------------------------------------------------------------------

def test_ram_is_little_endian_and_takes_every_width() -> None:
    a = AddressSpace()
    r = a.add_region(Region("ram", 0x1000, 0x100))
    a.write(0x1000, 8, 0x0807060504030201)
    assert bytes(r.data[:8]) == bytes(range(1, 9))
    assert a.read(0x1000, 1) == 0x01
    assert a.read(0x1002, 2) == 0x0403
    assert a.read(0x1004, 4) == 0x08070605
    assert a.read(0x1001, 4) == 0x05040302  # unaligned RAM access is fine
    a.write(0x1003, 2, 0xBBAA)
    assert bytes(r.data[3:5]) == b"\xaa\xbb"


def test_ram_whose_size_is_not_a_multiple_of_the_width() -> None:
    a = AddressSpace()
    a.add_region(Region("odd", 0x2000, 6, data=bytearray(b"abcdef")))
    assert a.read(0x2000, 4) == int.from_bytes(b"abcd", "little")
    assert a.read(0x2002, 4) == int.from_bytes(b"cdef", "little")
    a.write(0x2000, 4, 0x31323334)
    assert a.read(0x2000, 4) == 0x31323334
    with pytest.raises(BusError) as e:
        a.read(0x2004, 4)
    assert e.value.kind == "straddle"


def test_rom_ignores_writes() -> None:
    a = AddressSpace()
    a.add_region(Region("rom", 0, 4, "rom", data=bytearray(b"\x11\x22\x33\x44")))
    a.write(0, 4, 0)
    assert a.read(0, 4) == 0x44332211


@pytest.mark.parametrize("size", [0, 3, 5, 16, -1])
def test_an_access_size_that_is_not_1_2_4_8_is_a_clear_error(size: int) -> None:
    a = AddressSpace()
    a.add_region(Region("ram", 0x1000, 0x100))
    a.add_region(Region("rom", 0x3000, 0x100, "rom"))
    r, dev = io("dev", 0x2000)
    a.add_region(r)
    for addr in (0x1000, 0x2000, 0x3000, 0x9000):
        with pytest.raises(ValueError, match=f"access size {size} is not one of 1, 2, 4, 8"):
            a.read(addr, size)
        with pytest.raises(ValueError, match="is not one of 1, 2, 4, 8"):
            a.write(addr, size, 0)
    assert dev.log == [] and a.bus_errors == []


def test_a_negative_bus_address_is_a_clear_error() -> None:
    a = AddressSpace(bus_error_policy=IGNORE)
    a.add_region(Region("ram", 0, 0x100))
    with pytest.raises(ValueError, match="bus address -4 is not a physical address"):
        a.read(-4, 4)
    with pytest.raises(ValueError, match="bus address -1 is not a physical address"):
        a.write(-1, 1, 0)
    assert a.bus_errors == []


# -- priorities and the flat view ----------------------------------------------------------

def test_higher_priority_wins_and_the_lower_one_shows_around_it() -> None:
    a = AddressSpace()
    low = a.add_region(Region("low", 0x0, 0x1000))
    high, dev = io("high", 0x400, 0x100, priority=1)
    a.add_region(high)
    assert a.flat_view() == [FlatRange(0x0, 0x3FF, low, 0),
                             FlatRange(0x400, 0x4FF, high, 0),
                             FlatRange(0x500, 0xFFF, low, 0x500)]
    a.write(0x500, 4, 0xCAFEF00D)
    assert low.data[0x500:0x504] == (0xCAFEF00D).to_bytes(4, "little")
    a.write(0x400, 4, 1)
    assert dev.log == [("w", 0, 4, 1)]


def test_equal_priority_the_region_added_last_wins() -> None:
    a = AddressSpace()
    first = a.add_region(Region("first", 0, 0x100))
    second = a.add_region(Region("second", 0x80, 0x100))
    assert a.region_at(0x7F) is first
    assert a.region_at(0x80) is second
    assert a.region_at(0x17F) is second


def test_disabling_a_region_uncovers_what_is_below() -> None:
    a = AddressSpace()
    low = a.add_region(Region("low", 0, 0x1000))
    bar, _ = io("bar", 0x800, 0x100, priority=5)
    a.add_region(bar)
    assert a.region_at(0x800) is bar
    a.set_enabled(bar, False)
    assert a.region_at(0x800) is low
    assert [f.region for f in a.flat_view()] == [low]
    a.set_enabled(bar, True)
    assert a.region_at(0x800) is bar


def test_moving_and_removing_regions_invalidate_the_cache() -> None:
    a = AddressSpace()
    bar, _ = io("bar", 0x1000, 0x100)
    a.add_region(bar)
    assert a.region_at(0x1000) is bar  # now the last hit
    a.move_region(bar, 0x2000)
    assert a.region_at(0x1000) is None
    assert a.region_at(0x2000) is bar
    a.remove_region(bar)
    assert a.region_at(0x2000) is None
    assert a.flat_view() == []


def test_lookup_bisects_once_and_then_uses_the_last_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    a = AddressSpace()
    for i in range(2048):
        a.add_region(Region(f"r{i}", i * 0x2000, 0x1000))
    calls = []
    real = AS.bisect_right

    def counting(seq, x):
        calls.append(x)
        return real(seq, x)

    monkeypatch.setattr(AS, "bisect_right", counting)
    assert a.region_at(0x0BAC_000 + 0x10).name == "r1494"
    assert len(calls) == 1
    for off in range(0, 0x1000, 4):  # same range: served from the last-hit cache
        assert a.read(0x0BAC_000 + off, 4) == 0
    assert len(calls) == 1
    assert a.region_at(0x1000) is None  # a hole: one bisection, no scan
    assert len(calls) == 2


def test_flat_view_is_rebuilt_lazily() -> None:
    a = AddressSpace()
    a.add_region(Region("a", 0, 0x100))
    first = a.flat_view()
    assert a.flat_view() is first  # nothing changed: the same list
    a.add_region(Region("b", 0x100, 0x100))
    assert a.flat_view() is not first
    assert [(f.start, f.end) for f in a.flat_view()] == [(0, 0xFF), (0x100, 0x1FF)]


# -- access rules --------------------------------------------------------------------------

def test_valid_sizes_are_enforced_with_address_size_and_region_in_the_error() -> None:
    a = AddressSpace()
    r, dev = io("uart", 0x9000000, 0x1000, AccessRules(valid_sizes=frozenset({2, 4})))
    a.add_region(r)
    with pytest.raises(BusError) as e:
        a.read(0x9000018, 1)
    err = e.value
    assert (err.kind, err.addr, err.size, err.region, err.is_write) == (
        "size", 0x9000018, 1, "uart", False)
    assert str(err) == ("bus error: 1-byte read at 0x9000018 (region 'uart'): size: "
                        "accepts sizes 2/4, little-endian")
    with pytest.raises(BusError, match="8-byte write at 0x9000000"):
        a.write(0x9000000, 8, 0)
    assert dev.log == []
    assert [e.kind for e in a.bus_errors] == ["size", "size"]


def test_unaligned_accesses_are_refused_unless_the_region_allows_them() -> None:
    a = AddressSpace()
    strict, sdev = io("strict", 0x1000)
    loose, ldev = io("loose", 0x2000, rules=AccessRules(unaligned=True))
    a.add_regions([strict, loose])
    with pytest.raises(BusError) as e:
        a.read(0x1002, 4)
    assert e.value.kind == "unaligned" and e.value.region == "strict"
    assert sdev.log == []
    a.read(0x2002, 4)
    assert ldev.log == [("r", 2, 4)]


def test_an_access_that_crosses_the_end_of_a_region_is_a_straddle() -> None:
    a = AddressSpace()
    r, dev = io("small", 0x1000, 0x10)
    a.add_region(r)
    with pytest.raises(BusError) as e:
        a.read(0x100C, 8)
    assert (e.value.kind, e.value.region) == ("straddle", "small")
    assert dev.log == []


def test_wider_than_implemented_is_split_low_part_first() -> None:
    """QEMU's access_with_adjusted_size: an 8-byte access to a 4-byte model."""
    a = AddressSpace()
    r, dev = io("w32", 0x1000, rules=AccessRules(impl_sizes=frozenset({4})))
    a.add_region(r)
    dev.poke(0x10, 4, 0x44332211)
    dev.poke(0x14, 4, 0x88776655)
    assert a.read(0x1010, 8) == 0x8877665544332211
    assert dev.sizes() == [("r", 0x10, 4), ("r", 0x14, 4)]
    dev.log.clear()
    a.write(0x1020, 8, 0x0102030405060708)
    assert dev.log == [("w", 0x20, 4, 0x05060708), ("w", 0x24, 4, 0x01020304)]


def test_wider_than_implemented_on_a_big_endian_model_splits_high_part_first() -> None:
    a = AddressSpace()
    r, dev = io("be", 0x1000, rules=AccessRules(impl_sizes=frozenset({4}), endian=BIG))
    a.add_region(r)
    dev.poke(0x0, 4, 0x11223344)  # the device's first word is the high half
    dev.poke(0x4, 4, 0x55667788)
    # the device's 64-bit value is 0x1122334455667788; the CPU sees it byte-swapped
    assert a.read(0x1000, 8) == bswap(0x1122334455667788, 8)
    a.write(0x1008, 8, bswap(0xAABBCCDD00112233, 8))
    assert dev.log[-2:] == [("w", 0x8, 4, 0xAABBCCDD), ("w", 0xC, 4, 0x00112233)]


def test_narrower_than_implemented_reads_the_containing_unit() -> None:
    a = AddressSpace()
    r, dev = io("w32", 0x1000, rules=AccessRules(impl_sizes=frozenset({4})))
    a.add_region(r)
    dev.poke(0x10, 4, 0x44332211)
    assert a.read(0x1012, 1) == 0x33
    assert a.read(0x1012, 2) == 0x4433
    assert dev.sizes() == [("r", 0x10, 4), ("r", 0x10, 4)]
    dev.log.clear()
    a.write(0x1011, 1, 0xAB)  # widened: the other bytes are written as zeros
    assert dev.log == [("w", 0x10, 4, 0x0000AB00)]


def test_big_endian_region_swaps_between_device_and_cpu() -> None:
    a = AddressSpace()
    r, dev = io("be", 0x1000, rules=AccessRules(endian=BIG))
    a.add_region(r)
    dev.poke(0x0, 4, 0x11223344)
    assert a.read(0x1000, 4) == 0x44332211
    a.write(0x1004, 2, 0xBBAA)
    assert dev.log[-1] == ("w", 4, 2, 0xAABB)
    a.write(0x1008, 1, 0x5A)
    assert dev.log[-1] == ("w", 8, 1, 0x5A)


# -- bus errors and the board's policy -----------------------------------------------------

def test_unassigned_aborts_under_the_abort_policy() -> None:
    a = AddressSpace(bus_error_policy=ABORT)
    seen: list[BusError] = []
    a.on_bus_error = seen.append
    with pytest.raises(BusError) as e:
        a.read(0xDEAD0000, 4)
    assert str(e.value) == "bus error: 4-byte read at 0xdead0000 (no region): unassigned"
    assert seen == [e.value] and a.bus_errors == [e.value]


@pytest.mark.parametrize("size, ones", [(1, 0xFF), (2, 0xFFFF), (4, 0xFFFFFFFF),
                                        (8, 0xFFFFFFFFFFFFFFFF)])
def test_unassigned_reads_all_ones_under_the_ignore_policy(size: int, ones: int) -> None:
    a = AddressSpace(bus_error_policy=IGNORE)
    assert a.read(0xDEAD0000, size) == ones
    a.write(0xDEAD0000, size, 0)  # dropped, but recorded
    assert [(e.kind, e.is_write) for e in a.bus_errors] == [("unassigned", False),
                                                            ("unassigned", True)]


def test_a_rejected_access_reads_zero_under_the_ignore_policy() -> None:
    a = AddressSpace(bus_error_policy=IGNORE)
    r, dev = io("dev", 0x1000, rules=AccessRules(valid_sizes=frozenset({4})))
    a.add_region(r)
    dev.poke(0, 4, 0xFFFFFFFF)
    assert a.read(0x1000, 1) == 0
    assert dev.log == []
    assert a.bus_errors[-1].kind == "size"


def test_on_access_sees_every_completed_device_access() -> None:
    a = AddressSpace()
    r, _ = io("dev", 0x1000)
    a.add_region(r)
    seen = []
    a.on_access = lambda addr, size, w, v, reg: seen.append((addr, size, w, v, reg.name))
    a.write(0x1004, 4, 7)
    assert a.read(0x1004, 4) == 7
    assert seen == [(0x1004, 4, True, 7, "dev"), (0x1004, 4, False, 7, "dev")]


def test_the_inline_path_keeps_ram_and_rom_semantics() -> None:
    a = AddressSpace()
    ram = a.add_region(Region("ram", 0x1000, 0x10))
    rom = a.add_region(Region("rom", 0x2000, 0x10, "rom", data=bytearray(b"\xAA" * 16)))
    a.write(0x1008, 8, 0x1122334455667788)  # RAM is the last hit now
    assert a.read(0x1008, 4) == 0x55667788 and a.read(0x100C, 2) == 0x3344
    assert a.read(0x1009, 2) == 0x6677  # unaligned RAM: the full path, same bytes
    assert bytes(ram.data[8:16]) == bytes.fromhex("8877665544332211")
    assert a.read(0x2000, 4) == 0xAAAAAAAA  # ROM is the last hit now
    a.write(0x2000, 4, 0)  # ignored, as ROM does
    assert a.read(0x2000, 4) == 0xAAAAAAAA and bytes(rom.data) == b"\xAA" * 16


def test_a_hook_set_after_the_last_hit_still_sees_every_access() -> None:
    # the last hit is served inline without the hook; setting one must end that
    a = AddressSpace()
    r, dev = io("dev", 0x1000)
    a.add_region(r)
    a.write(0x1000, 4, 1)
    a.read(0x1000, 4)
    seen = []
    a.on_access = lambda addr, size, w, v, reg: seen.append((addr, w))
    a.write(0x1008, 4, 2)
    a.read(0x1008, 4)
    a.on_access = None
    a.write(0x100C, 4, 3)
    assert seen == [(0x1008, True), (0x1008, False)]
    assert dev.log[-1] == ("w", 0xC, 4, 3)


# -- mtree ---------------------------------------------------------------------------------

def test_mtree_dump_as_qemu_prints_it() -> None:
    a = AddressSpace()
    a.add_region(Region("mach-virt.ram", 0x40000000, 0x10000))
    uart, _ = io("pl011", 0x9000000, 0x1000)
    a.add_region(uart)
    bar, _ = io("bar0", 0x40001000, 0x1000, priority=1)
    a.add_region(bar)
    a.set_enabled(bar, False)
    assert a.mtree() == (
        "address-space: memory\n"
        "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n"
        "    0000000009000000-0000000009000fff (prio 0, i/o): pl011\n"
        "    0000000040000000-000000004000ffff (prio 0, ram): mach-virt.ram\n"
        "    0000000040001000-0000000040001fff (prio 1, i/o): bar0 [disabled]\n")
    a.set_enabled(bar, True)
    assert a.mtree(flat=True) == (
        "FlatView #0\n"
        ' AS "memory", root: system\n'
        " Root memory region: system\n"
        "  0000000009000000-0000000009000fff (prio 0, i/o): pl011\n"
        "  0000000040000000-0000000040000fff (prio 0, ram): mach-virt.ram\n"
        "  0000000040001000-0000000040001fff (prio 1, i/o): bar0\n"
        "  0000000040002000-000000004000ffff (prio 0, ram): mach-virt.ram @0000000000002000\n")


def test_mtree_of_a_rom() -> None:
    a = AddressSpace("I/O", width_bits=16)
    a.add_region(Region("bios", 0xF000, 0x1000, "rom"))
    assert a.mtree().splitlines()[1:] == [
        "  0000000000000000-000000000000ffff (prio 0, i/o): system",
        "    000000000000f000-000000000000ffff (prio 0, rom): bios"]


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, msg", [
    ({"base": 0, "size": 0}, ValueError, "size must be positive"),
    ({"base": 0, "size": -4}, ValueError, "size must be positive"),
    ({"base": -1, "size": 4}, ValueError, "outside the 64-bit physical address space"),
    ({"base": 2**64 - 8, "size": 16}, ValueError, "outside the 64-bit physical address space"),
    ({"base": 0, "size": 2**65}, ValueError, "outside the 64-bit physical address space"),
    ({"base": 0, "size": 1.5}, TypeError, "must be integers"),
    ({"base": "0x1000", "size": 4}, TypeError, "must be integers"),
    ({"base": True, "size": 4}, TypeError, "must be integers"),
    ({"base": 0, "size": 4, "kind": "flash"}, ValueError, "kind must be ram, rom or io"),
    ({"base": 0, "size": 4, "kind": "io"}, ValueError, "needs ops"),
    ({"base": 0, "size": 4, "data": bytearray(3)}, ValueError, "data is 3 bytes, size is 4"),
])
def test_bad_regions_are_refused(kwargs: dict, exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg):
        Region("bad", **kwargs)


@pytest.mark.parametrize("kwargs, msg", [
    ({"valid_sizes": frozenset({3})}, "access size 3 is not one of 1, 2, 4, 8"),
    ({"impl_sizes": frozenset({16})}, "access size 16"),
    ({"valid_sizes": frozenset()}, "at least one access size"),
    ({"impl_sizes": frozenset()}, "at least one access size"),
    ({"endian": "middle"}, "endianness must be"),
])
def test_bad_access_rules_are_refused(kwargs: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        AccessRules(**kwargs)


def test_bad_map_changes_leave_the_map_as_it_was() -> None:
    a = AddressSpace("I/O", width_bits=16)
    ok = a.add_region(Region("ports", 0x60, 0x10))
    before = (list(a.regions), list(a.flat_view()), a.mtree())
    with pytest.raises(ValueError, match=r"ends at 0x100ff, beyond the I/O address space"):
        a.add_region(Region("big", 0xFF00, 0x200))
    with pytest.raises(ValueError, match="already in I/O"):
        a.add_region(ok)
    with pytest.raises(ValueError, match="cannot move to 0xfffe"):
        a.move_region(ok, 0xFFFE)
    with pytest.raises(ValueError, match="cannot move to -0x10"):
        a.move_region(ok, -0x10)
    assert (list(a.regions), list(a.flat_view()), a.mtree()) == before
    assert ok.base == 0x60
    with pytest.raises(ValueError, match="bus error policy"):
        AddressSpace(bus_error_policy="panic")


# -- lookups agree with a brute-force scan -------------------------------------------------

region_specs = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 24), st.integers(-2, 2), st.booleans()),
    min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(region_specs, st.lists(st.integers(0, 90), max_size=30))
def test_lookup_agrees_with_brute_force(specs: list[tuple[int, int, int, bool]],
                                        probes: list[int]) -> None:
    a = AddressSpace()
    regions = []
    for i, (base, size, prio, enabled) in enumerate(specs):
        r = a.add_region(Region(f"r{i}", base * 4, size * 4, priority=prio))
        if not enabled:
            a.set_enabled(r, False)
        regions.append(r)

    def winner(addr: int) -> Region | None:
        live = [(r.priority, i, r) for i, r in enumerate(regions)
                if r.enabled and r.base <= addr <= r.end]
        return max(live, key=lambda t: t[:2])[2] if live else None

    flat = a.flat_view()
    for f1, f2 in zip(flat, flat[1:], strict=False):
        assert f1.end < f2.start  # sorted and disjoint
        assert not (f1.region is f2.region and f1.end + 1 == f2.start)  # merged
    for f in flat:
        assert f.region.base + f.offset == f.start
    edges = {p for r in regions for p in (r.base - 1, r.base, r.end, r.end + 1)}
    for addr in sorted(edges | {p * 4 for p in probes}):
        if addr < 0:
            continue
        fr = a.lookup(addr)
        expect = winner(addr)
        assert (fr.region if fr else None) is expect, hex(addr)
        if fr is not None:
            assert fr.start <= addr <= fr.end
            assert addr - fr.start + fr.offset == addr - expect.base


map_ops = st.lists(st.tuples(st.sampled_from(["move", "enable", "disable", "write", "read"]),
                             st.integers(0, 3), st.integers(0, 30), st.sampled_from([1, 2, 4, 8])),
                   max_size=40)


@settings(max_examples=150, deadline=None)
@given(map_ops)
def test_accesses_between_map_changes_reach_the_decoding_device(ops: list) -> None:
    # the last-hit fast path must never outlive a move, a decode change or another hit
    a = AddressSpace(bus_error_policy=IGNORE)
    devs = []
    for i in range(4):
        rules = AccessRules(valid_sizes=frozenset({1, 2, 4, 8}),
                            impl_sizes=frozenset({4}) if i == 3 else None,
                            endian=BIG if i == 2 else "little")
        r, dev = io(f"d{i}", i * 0x40, 0x40, rules=rules, priority=i % 2)
        a.add_region(r)
        devs.append((r, dev))
    for op, i, n, size in ops:
        r, dev = devs[i]
        if op == "move":
            a.move_region(r, n * 0x10)
        elif op in ("enable", "disable"):
            a.set_enabled(r, op == "enable")
        else:
            addr = n * 8
            fr = a.lookup(addr)
            owner = fr.region if fr is not None and addr + size - 1 <= fr.end else None
            logs = {d.name: len(d.log) for _r, d in devs}
            if op == "write":
                a.write(addr, size, 0x5A)
            else:
                a.read(addr, size)
            touched = {d.name for _r, d in devs if len(d.log) > logs[d.name]}
            assert touched == ({owner.name} if owner is not None else set()), (op, hex(addr))
            if owner is not None and owner.name != "d3" and addr % size == 0:
                assert devs[int(owner.name[1])][1].log[-1][1:3] == (addr - owner.base, size)
