"""mmiotrace, rwmmio and JSON-lines text: written exactly as the kernel prints it,
read back into the same records, and bad lines reported by number."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.trace import ParseError, jsonl, mmiotrace, read, read_text, rwmmio, sniff
from iomem.trace.events import (
    Info,
    Lost,
    Map,
    Mark,
    PciDev,
    Rw,
    Unknown,
    Unmap,
    Version,
    fmt_time,
    site_pc,
)

# -- the kernel's own words ----------------------------------------------------------------

E1000 = PciDev(0, 0x18, 0x8086, 0x100E, 11, (0xFEB40000, 0xC001, 0, 0, 0, 0, 0xFEB00000),
               (0x20000, 0x40, 0, 0, 0, 0, 0x40000), "")
VIRTIO = PciDev(0, 0x28, 0x1AF4, 0x1009, 10, (0xC041, 0xFEB71000, 0, 0, 0xFE00000C, 0, 0),
                (0x40, 0x1000, 0, 0, 0x4000, 0, 0), "virtio-pci")

KERNEL_LINES = [
    (Version(), "VERSION 20070824"),
    (E1000, "PCIDEV 0018 8086100e b feb40000 c001 0 0 0 0 feb00000 20000 40 0 0 0 0 40000 "),
    (VIRTIO, "PCIDEV 0028 1af41009 a c041 feb71000 0 0 fe00000c 0 0 40 1000 0 0 4000 0 0 "
             "virtio-pci"),
    (Map(6838018000, 1, 0xFEB40000, 0xFF4533FBC06A0000, 0x20000),
     "MAP 6.838018 1 0xfeb40000 0xff4533fbc06a0000 0x20000 0x0 0"),
    (Rw("R", 4, 6840921000, 1, 0xFEB40008, 0x80080783),
     "R 4 6.840921 1 0xfeb40008 0x80080783 0x0 0"),
    (Rw("W", 1, 12_000_001_000, 3, 0x1000, 0, 0xFFFFFFFFC0123456, 42),
     "W 1 12.000001 3 0x1000 0x0 0xffffffffc0123456 42"),
    (Unmap(9100000000, 1), "UNMAP 9.100000 1 0x0 0"),
    (Unknown(1000, 2, 0xFEA00000, (0x8B, 0x4, 0x25), 0x10, 0),
     "UNKNOWN 0.000001 2 0xfea00000 8b,04,25 0x10 0"),
    (Mark(6441318000, "before e1000"), "MARK 6.441318 before e1000"),
    (Lost(12), "MARK 0.000000 Lost 12 events."),
    (Info("irq", 1_500_000, {"line": 11, "level": 1}),
     'MARK 0.001500 iomem irq {"line":11,"level":1}'),
]


@pytest.mark.parametrize(("record", "line"), KERNEL_LINES, ids=[ln.split()[0] + str(i)
                                                                 for i, (_r, ln) in
                                                                 enumerate(KERNEL_LINES)])
def test_each_record_is_printed_as_the_kernel_prints_it(record: object, line: str) -> None:
    assert mmiotrace.format_event(record) == line
    assert mmiotrace.parse_line(line) == record


def test_a_pcidev_without_a_driver_ends_in_a_space() -> None:
    """mmio_print_pcidev ends with trace_seq_puts(s, " \\n") when no driver is bound."""
    text = mmiotrace.dumps([Version(), E1000])
    assert text.splitlines()[1].endswith(" 40000 ")
    assert mmiotrace.loads(text)[1].driver == ""


def test_times_are_rounded_as_ns2usecs_rounds() -> None:
    assert fmt_time(1_499) == "0.000001"
    assert fmt_time(1_500) == "0.000002"
    assert fmt_time(999_999_500) == "1.000000"
    assert fmt_time(3_000_000_000_000) == "3000.000000"


def test_pc_is_a_stable_module_address() -> None:
    pc = site_pc("/some/where/drivers/edu.py", 108)
    assert pc == site_pc("elsewhere/edu.py", 108)  # the file's name, not its directory
    assert pc != site_pc("edu.py", 109)
    assert 0xFFFFFFFFC0000000 <= pc < 1 << 64


def test_a_mark_that_looks_like_iomem_but_is_not_json_stays_a_mark() -> None:
    for text in ("iomem irq not json", 'iomem R {"a":1}', "iomem irq {bad"):
        (ev,) = mmiotrace.loads(f"MARK 1.000000 {text}")
        assert ev == Mark(1_000_000_000, text)


# -- generated traces round-trip ------------------------------------------------------------

u64 = st.integers(0, (1 << 64) - 1)
t_us = st.integers(0, 10**9).map(lambda us: us * 1000)
map_id = st.integers(0, 1000)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40)

rw = st.builds(Rw, st.sampled_from("RW"), st.sampled_from([1, 2, 4, 8]), t_us, map_id, u64, u64,
               u64, st.integers(0, 1 << 22), extra=st.none())
maps = st.builds(Map, t_us, map_id, u64, u64, u64, st.just(0), st.just(0), extra=st.none())
unmaps = st.builds(Unmap, t_us, map_id, st.just(0), st.just(0), extra=st.none())
unknowns = st.builds(Unknown, t_us, map_id, u64, st.tuples(*[st.integers(0, 255)] * 3), u64,
                     st.integers(0, 99999), extra=st.none())
marks = st.builds(Mark, t_us, text.filter(lambda s: not s.startswith(("iomem ", "Lost "))),
                  extra=st.none())
lost = st.builds(Lost, st.integers(1, 10**9))
pcidevs = st.builds(PciDev, st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF),
                    st.integers(0, 0xFFFF), st.integers(0, 255),
                    st.tuples(*[u64] * 7), st.tuples(*[u64] * 7),
                    st.sampled_from(["", "e1000", "virtio-pci", "edu"]))
infos = st.builds(Info, st.sampled_from(["irq", "dma", "barrier", "report"]), t_us,
                  st.dictionaries(st.sampled_from(["line", "level", "text", "phys"]),
                                  st.one_of(st.integers(0, 1 << 40), text), max_size=3))
record = st.one_of(rw, rw, rw, maps, unmaps, unknowns, marks, lost, pcidevs, infos)


@settings(max_examples=200, deadline=None)
@given(st.lists(record, max_size=30))
def test_generated_mmiotrace_round_trips(records: list) -> None:
    body = [Version(), *records]
    text = mmiotrace.dumps(body)
    back = mmiotrace.loads(text)
    assert back == body
    assert mmiotrace.dumps(back) == text


extras = st.one_of(st.none(), st.dictionaries(st.sampled_from(["site", "func", "memtype"]),
                                              text, min_size=1, max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(record, st.builds(Rw, st.sampled_from("RW"), st.sampled_from([4]),
                                            st.integers(0, 1 << 40), map_id, u64, u64, u64,
                                            st.just(0), extras)), max_size=30))
def test_generated_jsonl_round_trips_losslessly(records: list) -> None:
    body = [Version(), *records]
    text = jsonl.dumps(body)
    back = jsonl.loads(text)
    assert back == body
    assert jsonl.dumps(back) == text


def test_rwmmio_lines_are_ftrace_lines() -> None:
    events = [Map(0, 1, 0xFEA00000, 0xFFFFC90000100000, 0x100000),
              Rw("W", 4, 12_345_678_000, 1, 0xFEA00004, 0x12345678, 0, 231,
                 {"sym": "edu_writel+0x8/0x20", "sym0": "edu_probe+0x1c/0x90"}),
              Rw("R", 4, 12_345_679_000, 1, 0xFEA00004, 0xEDCBA987, 0, 231, None)]
    text = "".join(rwmmio.format_record(r) + "\n" for r in rwmmio.from_events(events,
                                                                               comm="insmod"))
    lines = text.splitlines()
    assert lines[0] == ("          insmod-231     [000] .....    12.345678: rwmmio_write: "
                        "edu_probe+0x1c/0x90 -> edu_writel+0x8/0x20 width=32 val=0x12345678 "
                        "addr=0xffffc90000100004")
    assert lines[2].endswith("rwmmio_read: 0x0 -> 0x0 width=32 addr=0xffffc90000100004")
    assert lines[3].endswith("rwmmio_post_read: 0x0 -> 0x0 width=32 val=0xedcba987 "
                             "addr=0xffffc90000100004")
    recs = rwmmio.loads(text)
    assert rwmmio.dumps(recs) == text
    accesses = list(rwmmio.to_events(recs))
    assert [(a.op, a.width, a.phys, a.value) for a in accesses] == [
        ("W", 4, 0xFFFFC90000100004, 0x12345678), ("R", 4, 0xFFFFC90000100004, 0xEDCBA987)]
    assert sniff(lines[0]) == "rwmmio"
    assert read_text(text) == accesses


def test_rwmmio_zero_prints_with_its_prefix() -> None:
    """The kernel's vsprintf prints %#llx of 0 as 0x0 (glibc would print 0)."""
    (rec, _post) = rwmmio.from_events([Rw("W", 2, 0, 0, 0x10, 0)])
    assert "width=16 val=0x0 addr=0x10" in rwmmio.format_record(rec)


# -- bad input --------------------------------------------------------------------------------

BAD = [
    ("R 4 6.840921 1 0xfeb40008 0x80080783 0x0", "not an R record"),
    ("R 4 6.84092 1 0xfeb40008 0x80080783 0x0 0", "not an R record"),
    ("W 4 6.840921 1 feb40008 0x80080783 0x0 0", "not a W record"),
    ("MAP 6.838018 1 0xfeb40000 0xff4533fbc06a0000 0x20000 0x0", "not a MAP record"),
    ("UNMAP 6.838018 one 0x0 0", "not an UNMAP record"),
    ("PCIDEV 0018 8086100e b feb40000", "not a PCIDEV record"),
    ("MARK 6.441318", "not a MARK record"),
    ("rw what?", "not an mmiotrace record"),
    ("", "empty line"),
]


@pytest.mark.parametrize(("line", "why"), BAD)
def test_a_bad_line_is_an_error_with_its_number(line: str, why: str) -> None:
    text = f"VERSION 20070824\nMARK 0.000001 ok\n{line}\nMARK 0.000002 ok\n"
    with pytest.raises(ParseError) as info:
        mmiotrace.loads(text, source="t.txt")
    e = info.value
    assert (e.source, e.lineno, e.line) == ("t.txt", 3, line)
    assert why in e.reason
    assert str(e).startswith("t.txt:3: ")


def test_bad_lines_are_skipped_only_when_asked_and_then_listed() -> None:
    text = "VERSION 20070824\nR 4 oops\nMARK 0.000001 ok\nW 4 x\n"
    skipped: list = []
    got = mmiotrace.loads(text, skip_bad=True, skipped=skipped)
    assert got == [Version(), Mark(1000, "ok")]
    assert [(n, line) for n, _why, line in skipped] == [(2, "R 4 oops"), (4, "W 4 x")]


def test_bad_jsonl_lines_say_what_is_wrong() -> None:
    cases = [('{"ev":"R","width":4}', "needs the key 't_ns'"),
             ('{"ev":"R","width":"4","t_ns":0,"map":1,"phys":0,"value":0,"pc":0,"pid":0}',
              "'width' must be an integer"),
             ("[1, 2]", "not a JSON object"),
             ('{"ev": "R", ', "not JSON"),
             ('{"no": 1}', 'no "ev" key')]
    for line, why in cases:
        with pytest.raises(ParseError) as info:
            jsonl.loads('{"ev":"VERSION","version":"20070824"}\n' + line, source="t.jsonl")
        assert info.value.lineno == 2
        assert why in info.value.reason, info.value.reason


def test_bad_rwmmio_lines() -> None:
    good = ("          insmod-231     [000] .....    12.345678: rwmmio_read: a+0x1/0x2 -> "
            "b+0x1/0x2 width=32 addr=0x10")
    for line, why in [(good.replace("rwmmio_read", "rwmmio_post_read"), "has no val="),
                      (good.replace("rwmmio_read", "sched_switch"), "not an rwmmio event"),
                      ("garbage", "not a trace line")]:
        with pytest.raises(ParseError, match=why):
            rwmmio.loads(f"# tracer: nop\n{line}")


# -- files ---------------------------------------------------------------------------------------

def test_read_sniffs_the_format_and_streams_gzip(tmp_path: Path) -> None:
    body = [Version(), E1000, Map(0, 1, 0xFEB40000, 0x1000, 0x20000),
            Rw("R", 4, 1000, 1, 0xFEB40008, 0x80080783)]
    (tmp_path / "a.txt").write_text(mmiotrace.dumps(body))
    (tmp_path / "a.jsonl").write_text(jsonl.dumps(body))
    with gzip.open(tmp_path / "a.txt.gz", "wt") as fh:
        fh.write(mmiotrace.dumps(body))
    for name in ("a.txt", "a.jsonl", "a.txt.gz"):
        assert list(read(tmp_path / name)) == body
    (tmp_path / "empty.txt").write_text("")
    assert list(read(tmp_path / "empty.txt")) == []
