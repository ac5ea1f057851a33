"""Loading: DTB through libfdt, DTS through dtc, and bad input as one clear error."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.of import (
    DtError,
    builtin_dtb,
    load,
    load_dtb,
    load_dts,
    load_dts_string,
    of_account_nodes,
)

VIRT = builtin_dtb("virt")


def test_virt_blob_loads(virt) -> None:
    assert virt.model == "linux,dummy-virt"
    assert virt.compatible == ["linux,dummy-virt"]
    assert len(list(virt.nodes())) == 56
    assert virt.mem_rsvmap == []
    uart = virt.find_node_by_path("/pl011@9000000")
    assert uart is not None
    assert uart.name == "pl011" and uart.full_name == "pl011@9000000"
    assert uart.unit_address == "9000000" and uart.path == "/pl011@9000000"
    assert uart.compatible == ["arm,pl011", "arm,primecell"]
    assert uart.read_strings("clock-names") == ["uartclk", "apb_pclk"]
    assert uart.read_u32_array("reg") == [0, 0x9000000, 0, 0x1000]
    assert virt.chosen.read_string("stdout-path") == "/pl011@9000000"


def test_phandles(virt) -> None:
    gic = virt.find_node_by_phandle(0x8002)
    assert gic is not None and gic.path == "/intc@8000000"
    assert virt.find_node_by_phandle(0x8003).path == "/intc@8000000/v2m@8020000"
    assert virt.find_node_by_phandle(0x1234) is None
    assert virt.root.read_u32("interrupt-parent") == gic.phandle


def test_children_keep_blob_order(virt) -> None:
    names = [c.full_name for c in virt.root.children]
    assert names[:4] == ["psci", "memory@40000000", "platform-bus@c000000", "fw-cfg@9020000"]
    assert names[-2:] == ["apb-pclk", "chosen"]
    assert virt.find_node_by_path("/cpus/cpu-map/socket0/cluster0/core0").depth == 5


def test_property_readers(edge) -> None:
    named = edge.find_node_by_path("/soc/named@3000")
    assert named.read_u32("reg", 2) == 0x3400
    assert named.read_u32("reg", 9) is None
    assert named.read_u32("missing") is None
    assert named.read_string_index("reg-names", 1) == "fifo"
    assert named.match_string("reg-names", "fifo") == 1
    assert named.match_string("reg-names", "nope") == -1
    assert edge.root.read_u64("#address-cells") is None
    assert edge.find_node_by_path("/reserved-memory/secmon@40000000").read_bool("no-map")


def test_compatible_and_status(edge) -> None:
    cell = edge.find_node_by_path("/soc/cell@6000")
    assert cell.is_compatible("arm,primecell") and cell.is_compatible("ARM,PL061")
    assert cell.compatible_score("arm,pl061") > cell.compatible_score("arm,primecell") > 0
    assert not cell.is_compatible("arm,pl011")
    assert cell.is_available()
    assert not edge.find_node_by_path("/soc/off@2000").is_available()
    assert not edge.find_node_by_path("/soc/fail@2100").is_available()


@pytest.mark.parametrize("status,available", [
    (None, True), ('"okay"', True), ('"ok"', True), ('"disabled"', False),
    ('"fail"', False), ('"reserved"', False), ('"okay-ish"', False),
])
def test_is_available(dtc, status, available) -> None:
    prop = f"status = {status};" if status else ""
    tree = load_dts_string(f"/ {{ n {{ {prop} }}; }};")
    assert tree.find_node_by_path("/n").is_available() is available


def test_aliases_and_paths(edge) -> None:
    assert edge.aliases() == {"serial0": "/soc/serial@1000"}
    assert edge.find_node_by_path("serial0").path == "/soc/serial@1000"
    assert edge.find_node_by_path("/soc/serial").path == "/soc/serial@1000"
    assert edge.find_node_by_path("/soc/nothing") is None
    assert edge.find_node_by_path("nosuchalias") is None


def test_memreserve(edge) -> None:
    assert edge.mem_rsvmap == [(0x48000000, 0x10000)]


# -- bad input ------------------------------------------------------------------

def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_empty_blob() -> None:
    with pytest.raises(DtError) as e:
        load_dtb(b"", "x.dtb")
    assert "x.dtb: not a flattened device tree" in _one_line(e)


def test_bad_magic() -> None:
    with pytest.raises(DtError) as e:
        load_dtb(b"\x7fELF" + bytes(100))
    assert "magic 0x7f454c46, expected 0xd00dfeed" in _one_line(e)


def test_header_cut_short() -> None:
    with pytest.raises(DtError) as e:
        load_dtb(VIRT[:20])
    assert "truncated device tree blob: 20 bytes, shorter than the 40-byte header" in \
        _one_line(e)


def test_truncated_blob() -> None:
    with pytest.raises(DtError) as e:
        load_dtb(VIRT[:3000], "virt.dtb")
    assert _one_line(e) == ("virt.dtb: truncated device tree blob: the header says "
                            f"{len(VIRT)} bytes, there are 3000")


def test_truncated_blob_with_consistent_header() -> None:
    """A blob cut short whose header was patched to match: libfdt's full check catches it."""
    cut = bytearray(VIRT[:3000])
    struct.pack_into(">I", cut, 4, len(cut))
    with pytest.raises(DtError) as e:
        load_dtb(bytes(cut))
    assert "malformed device tree blob" in _one_line(e)


def test_corrupt_structure_block() -> None:
    bad = bytearray(VIRT)
    off_struct = struct.unpack_from(">I", bad, 8)[0]
    struct.pack_into(">I", bad, off_struct, 0x0BADF00D)  # not an FDT_BEGIN_NODE token
    with pytest.raises(DtError) as e:
        load_dtb(bytes(bad))
    assert "malformed device tree blob" in _one_line(e)
    assert "FDT_ERR_" in str(e.value)


def test_unsupported_version() -> None:
    bad = bytearray(VIRT)
    struct.pack_into(">I", bad, 20, 99)  # version
    struct.pack_into(">I", bad, 24, 99)  # last_comp_version
    with pytest.raises(DtError) as e:
        load_dtb(bytes(bad))
    assert "FDT_ERR_BADVERSION" in _one_line(e)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(VIRT) - 1), st.integers(0, 255))
def test_any_single_byte_change_loads_or_errors(pos: int, value: int) -> None:
    blob = bytearray(VIRT)
    blob[pos] = value
    try:
        tree = load_dtb(bytes(blob))
    except DtError:
        return
    assert set(of_account_nodes(tree)) == set(tree.nodes())  # and no hang, no crash


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(VIRT) - 1))
def test_every_truncation_is_an_error(n: int) -> None:
    with pytest.raises(DtError):
        load_dtb(VIRT[:n])


# -- sources and files ------------------------------------------------------------

def test_dts_string_and_warnings(dtc) -> None:
    tree = load_dts_string("/ { #address-cells = <1>; #size-cells = <1>; "
                           "dev@10 { compatible = \"x,y\"; }; };", source="mini.dts")
    assert tree.source == "mini.dts"
    assert tree.find_node_by_path("/dev@10").compatible == ["x,y"]
    assert any("unit_address_vs_reg" in w and "mini.dts" in w for w in tree.warnings)


def test_dts_syntax_error(dtc, tmp_path: Path) -> None:
    bad = tmp_path / "bad.dts"
    bad.write_text("/dts-v1/;\n/ { oops = ; };\n")
    with pytest.raises(DtError) as e:
        load(bad)
    msg = _one_line(e)
    assert msg.startswith(f"{bad}: dtc failed:") and "syntax error" in msg


def test_dts_include_and_cpp(dtc, tmp_path: Path) -> None:
    if __import__("shutil").which("cpp") is None:
        pytest.skip("the C preprocessor (cpp) is not installed")
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "addr.h").write_text("#define UART_BASE 0x9000000\n")
    (tmp_path / "common.dtsi").write_text("/ { common { }; };\n")
    src = tmp_path / "board.dts"
    src.write_text('/dts-v1/;\n#include <addr.h>\n/include/ "common.dtsi"\n'
                   "/ { #address-cells = <1>; #size-cells = <1>;\n"
                   "  uart@9000000 { reg = <UART_BASE 0x1000>; }; };\n")
    tree = load_dts(src, include_dirs=[tmp_path / "inc"])
    assert tree.find_node_by_path("/uart@9000000").read_u32("reg") == 0x9000000
    assert tree.find_node_by_path("/common") is not None


def test_load_tells_dtb_from_dts(edge, tmp_path: Path) -> None:
    blob = tmp_path / "edge.bin"  # no .dtb suffix: the magic number decides
    blob.write_bytes(edge.blob)
    assert load(blob).model == "iomem edge cases"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DtError, match=r"no such file \(built-in boards: virt\)"):
        load(tmp_path / "nope.dtb")
    with pytest.raises(DtError, match="is a directory"):
        load(tmp_path)


def test_missing_dtc_is_a_clear_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("IOMEM_NO_INSTALL", "1")
    src = tmp_path / "x.dts"
    src.write_text("/dts-v1/; / { };")
    with pytest.raises(DtError, match="apt-get install device-tree-compiler"):
        load(src)


def test_unknown_builtin() -> None:
    with pytest.raises(DtError, match="no built-in board 'vexpress'"):
        builtin_dtb("vexpress")
