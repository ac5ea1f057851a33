"""CMSIS-SVD and SystemRDL import (through their libraries), SVD and JSON export."""

from __future__ import annotations

from pathlib import Path

import pytest

from iomem.devices import PL011, SP804
from iomem.regs import Access, RegisterFile, RegisterMap, SystemRDLError, from_svd, from_systemrdl

pytest.importorskip("cmsis_svd")
pytest.importorskip("systemrdl")

DATA = Path(__file__).parent / "data"


def test_svd_peripheral_registers_fields_and_modes() -> None:
    m = from_svd(DATA / "demo.svd", "TIMER0")
    assert (m.name, m.base, m.size) == ("TIMER0", 0x40001000, 0x400)
    assert [r.name for r in m] == ["CTRL", "STATUS", "COUNT", "KICK"]
    ctrl = m["CTRL"]
    assert ctrl.reset == 0x20 and ctrl.access is Access.RW
    assert (ctrl["MODE"].lsb, ctrl["MODE"].width) == (1, 2)
    assert ctrl["MODE"].values == {0: "free", 1: "periodic", 2: "oneshot"}
    assert (ctrl["IE"].lsb, ctrl["IE"].width) == (5, 1)
    assert ctrl["EN"].description == "Enable the counter"
    st = m["STATUS"]
    assert st.field_access(st["DONE"]) is Access.W1C
    assert st.field_access(st["OVF"]) is Access.RC
    assert (m["COUNT"].width, m["COUNT"].access, m["COUNT"].reset) == (16, Access.RO, 0xFFFF)
    assert m["KICK"].access is Access.WO


def test_svd_derived_peripheral_and_selection() -> None:
    t1 = from_svd(DATA / "demo.svd", "TIMER1")
    assert t1.base == 0x40002000 and [r.name for r in t1] == ["CTRL", "STATUS", "COUNT", "KICK"]
    with pytest.raises(ValueError, match="name one of: TIMER0, TIMER1"):
        from_svd(DATA / "demo.svd")
    with pytest.raises(KeyError, match="no peripheral 'UART'"):
        from_svd(DATA / "demo.svd", "UART")


def test_imported_map_drives_a_register_file() -> None:
    rf = RegisterFile(from_svd(DATA / "demo.svd", "TIMER0"))
    rf["STATUS"] = 0b11
    rf.write(4, 4, 0b01)  # DONE is write-1-to-clear
    assert rf["STATUS"] == 0b10
    assert rf.read(4, 4) == 0b10 and rf["STATUS"] == 0  # OVF cleared by the read


def test_systemrdl_flattens_arrays_and_regfiles() -> None:
    m = from_systemrdl(DATA / "dma.rdl")
    assert m.name == "demo_dma" and m.size == 0x140
    assert [r.name for r in m] == ["ID", "ch_0_CTRL", "ch_0_STATUS", "ch_0_SRC",
                                   "ch_1_CTRL", "ch_1_STATUS", "ch_1_SRC"]
    assert m["ch_1_CTRL"].offset == 0x120 and m["ch_0_CTRL"].reset == 0x40
    assert m["ch_0_CTRL"]["DIR"].values == {0: "mem2mem", 1: "mem2dev", 2: "dev2mem"}
    assert (m["ID"].width, m["ID"].access, m["ID"].reset) == (16, Access.RO, 0x0102)
    st = m["ch_0_STATUS"]
    assert [st.field_access(f) for f in st] == [Access.W1C, Access.RC, Access.RO]
    assert m["ch_0_SRC"].access is Access.WO
    assert m["ch_0_CTRL"].description == "Channel control"


def test_systemrdl_errors_are_reported() -> None:
    with pytest.raises(SystemRDLError, match="compilation failed"):
        from_systemrdl(DATA / "broken.rdl")


def test_svd_export_validates_and_round_trips(tmp_path: Path) -> None:
    from cmsis_svd import SVDParser

    for regmap in (PL011().regmap, SP804().regmap, from_systemrdl(DATA / "dma.rdl")):
        text = regmap.to_svd(base=0x9000000)
        # checked against the newest 1.3.x schema the library ships
        ok, err = SVDParser.validate_xml_str(text.encode(), "latest", False)
        assert ok, err
        path = tmp_path / f"{regmap.name}.svd"
        path.write_text(text)
        back = from_svd(path)
        assert back.base == 0x9000000
        assert back.to_dict()["registers"] == regmap.to_dict()["registers"]


def test_json_export_of_a_model_map() -> None:
    m = PL011().regmap
    back = RegisterMap.from_json(m.to_json())
    assert back.to_dict() == m.to_dict()
    assert back["ICR"].access is Access.WO and back["RSR"].access is Access.WC
