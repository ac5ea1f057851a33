"""Register-map description and access modes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iomem.regs import Access, Field, Register, RegisterFile, RegisterMap

U32 = st.integers(0, 0xFFFFFFFF)


def one(access: str) -> Register:
    return Register("R", 0, access=access)


# (mode, stored, written) -> stored after the write
WRITES = [
    ("rw", 0xF0F0, 0x1234, 0x1234),
    ("ro", 0xF0F0, 0x1234, 0xF0F0),
    ("wo", 0xF0F0, 0x1234, 0x1234),
    ("w1c", 0xF0F0, 0x3030, 0xC0C0),
    ("w1s", 0xF0F0, 0x0F01, 0xFFF1),
    ("w1t", 0xF0F0, 0xFF00, 0x0FF0),
    ("w0c", 0xF0F0, 0xFFFF0FFF, 0x00F0),
    ("w0s", 0x0000, 0xFFFFFF0F, 0x00F0),
    ("wc", 0xF0F0, 0x0000, 0x0000),
    ("ws", 0x0000, 0x0000, 0xFFFFFFFF),
    ("rc", 0xF0F0, 0x0000, 0xF0F0),
    ("rs", 0xF0F0, 0xFFFF, 0xF0F0),
    ("rsvd", 0xF0F0, 0x1234, 0xF0F0),
]


@pytest.mark.parametrize("mode,stored,written,after", WRITES)
def test_write_modes(mode: str, stored: int, written: int, after: int) -> None:
    assert one(mode).write_value(stored, written) == after


# (mode, stored) -> (value a read sees, stored afterwards)
READS = [
    ("rw", 0xAB, 0xAB, 0xAB),
    ("ro", 0xAB, 0xAB, 0xAB),
    ("wo", 0xAB, 0x00, 0xAB),
    ("w1c", 0xAB, 0xAB, 0xAB),
    ("rc", 0xAB, 0xAB, 0x00),
    ("rs", 0xAB, 0xAB, 0xFFFFFFFF),
    ("rsvd", 0xAB, 0x00, 0xAB),
]


@pytest.mark.parametrize("mode,stored,seen,after", READS)
def test_read_modes(mode: str, stored: int, seen: int, after: int) -> None:
    assert one(mode).read_value(stored) == (seen, after)


def mixed() -> Register:
    return Register("ST", 0x10, [
        Field("EN", 0), Field("MODE", 1, 2, values={0: "off", 1: "slow", 2: "fast"}),
        Field("DONE", 4, access=Access.W1C), Field("ERR", 5, access=Access.RC),
        Field("LEVEL", 8, 8, access=Access.RO, reset=0x10),
    ])


def test_uncovered_bits_are_reserved() -> None:
    r = mixed()
    assert r.write_value(0, 0xFFFFFFFF) & ~0x3F == 0  # only EN/MODE stored; DONE: w1c of 0
    assert r.read_value(0xFFFFFFFF)[0] == 0xFF37  # bit 3 has no field


def test_reset_composed_from_fields() -> None:
    assert mixed().reset == 0x1000
    assert Register("X", 0, [Field("A", 0, 4, reset=3)], reset=7).reset == 7


def test_strobe_limits_a_write_to_its_byte_lanes() -> None:
    r = Register("R", 0)
    assert r.write_value(0x11223344, 0xAABBCCDD, strobe=0x0000FF00) == 0x1122CC44
    w1c = Register("C", 0, access="w1c")
    assert w1c.write_value(0xFFFF, 0xFFFFFFFF, strobe=0xFF) == 0xFF00


def test_decode_shows_nonzero_fields_and_value_names() -> None:
    cr = Register("CR", 0x30, [Field("UARTEN", 0), Field("SIREN", 1), Field("TXE", 8),
                               Field("RXE", 9)], reset=0x300)
    assert cr.decode(0x301) == "CR = 0x00000301 [UARTEN=1 TXE=1 RXE=1]"
    assert mixed().decode(0x1A14) == "ST = 0x00001a14 [MODE=fast DONE=1 LEVEL=0x1a]"
    assert cr.decode(0, all_fields=True) == "CR = 0x00000000 [UARTEN=0 SIREN=0 TXE=0 RXE=0]"
    assert Register("B", 0, width=8).decode(0x5) == "B = 0x05"


def test_compose_by_name() -> None:
    r = mixed()
    assert r.compose(EN=1, MODE="slow") == 0x3
    with pytest.raises(ValueError, match="no value named"):
        r.compose(MODE="turbo")
    with pytest.raises(ValueError, match="does not fit"):
        r.compose(MODE=4)
    with pytest.raises(KeyError):
        r.compose(NOPE=1)


@pytest.mark.parametrize("build,message", [
    (lambda: Register("R", 0, [Field("A", 0, 4), Field("B", 3)]), "overlaps"),
    (lambda: Register("R", 0, [Field("A", 30, 4)]), "outside"),
    (lambda: Register("R", 0, [Field("A", 0), Field("A", 1)]), "twice"),
    (lambda: Register("R", 0, width=24), "width"),
    (lambda: Register("R", 0, reset=1 << 32), "does not fit"),
    (lambda: Register("1R", 0), "identifier"),
    (lambda: RegisterMap("m", [Register("A", 0), Register("B", 2)]), "overlaps"),
    (lambda: RegisterMap("m", [Register("A", 0), Register("A", 4)]), "twice"),
    (lambda: RegisterMap("m", [Register("A", 8)], size=4), "smaller"),
    (lambda: Access.parse("sometimes"), "unknown access"),
])
def test_bad_descriptions_are_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_access_spellings() -> None:
    assert Access.parse("read-only") is Access.RO
    assert Access.parse("write-1-to-clear") is Access.W1C
    assert Access.parse("R/W") is Access.RW
    assert Access.parse(Access.RC) is Access.RC


def test_map_lookup() -> None:
    m = RegisterMap("m", [Register("A", 0), mixed(), Register("H", 0x14, width=16)])
    assert m["ST"].offset == 0x10 and m.at(0x10) is m["ST"]
    assert m.covering(0x12) is m["ST"] and m.covering(0x8) is None
    assert m.size == 0x16 and len(m) == 3 and "H" in m
    assert "+0x010 ST" in m.describe()


def test_dict_and_json_round_trip() -> None:
    m = RegisterMap("blk", [Register("A", 0, description="first"), mixed()], size=0x100,
                    description="a block", base=0x1000)
    back = RegisterMap.from_json(m.to_json())
    assert back.to_dict() == m.to_dict()
    assert back["ST"]["MODE"].values == {0: "off", 1: "slow", 2: "fast"}
    assert back["ST"]["DONE"].access is Access.W1C and back.base == 0x1000


# -- the register file ------------------------------------------------------------

def test_register_file_applies_modes_and_hooks() -> None:
    seen: list[int] = []
    m = RegisterMap("m", [Register("CTRL", 0, reset=5), Register("ST", 4, access="w1c"),
                          Register("CNT", 8, access="rc"), Register("DATA", 0xC)])
    rf = RegisterFile(m, on_read={"DATA": lambda: 0x42}, on_write={"CTRL": seen.append})
    assert rf.read(0, 4) == 5
    rf.write(0, 4, 9)
    assert rf["CTRL"] == 9 and seen == [9]
    rf["ST"] = 0b1111
    rf.write(4, 4, 0b0101)
    assert rf["ST"] == 0b1010
    rf["CNT"] = 7
    assert rf.read(8, 4) == 7 and rf.read(8, 4) == 0
    assert rf.read(0xC, 4) == 0x42
    rf.reset()
    assert rf["CTRL"] == 5


def test_register_file_narrow_and_wide_accesses() -> None:
    gaps: list[tuple[int, int, bool, int]] = []
    m = RegisterMap("m", [Register("A", 0), Register("B", 4), Register("C", 0x10)], size=0x20)
    rf = RegisterFile(m, on_unmapped=lambda *a: gaps.append(a))
    rf.write(0, 8, 0x1111111122222222)
    assert (rf["A"], rf["B"]) == (0x22222222, 0x11111111)
    rf.write(5, 1, 0xAB)
    assert rf["B"] == 0x1111AB11
    assert rf.read(4, 2) == 0xAB11
    assert rf.read(8, 4) == 0 and gaps == [(8, 4, False, 0)]
    rf.write(0xC, 8, 0xFFFFFFFF_00000000)
    assert rf["C"] == 0xFFFFFFFF and gaps[-1] == (0xC, 4, True, 0)


@given(stored=U32, written=U32, strobe=U32)
def test_w1c_never_sets_bits(stored: int, written: int, strobe: int) -> None:
    after = one("w1c").write_value(stored, written, strobe)
    assert after & ~stored == 0
    assert stored & ~after == stored & written & strobe  # exactly the 1s written are cleared


@given(stored=U32, written=U32)
def test_read_only_never_changes_by_write(stored: int, written: int) -> None:
    for mode in ("ro", "rc", "rs", "rsvd"):
        assert one(mode).write_value(stored, written) == stored


@given(stored=U32, written=U32, strobe=U32)
def test_no_mode_touches_bits_outside_the_strobe(stored: int, written: int, strobe: int) -> None:
    for a in Access:
        after = one(a.value).write_value(stored, written, strobe)
        assert (after ^ stored) & ~strobe == 0, a


@given(stored=U32, written=U32)
def test_w1s_and_w0c_are_monotonic(stored: int, written: int) -> None:
    assert one("w1s").write_value(stored, written) & stored == stored
    assert one("w0c").write_value(stored, written) & ~stored == 0
