"""lspci's -s and -d filters: what pciutils accepts, and its words for what it refuses."""

import pytest

from iomem.pci.lspci import parse_id_filter, parse_slot_filter


@pytest.mark.parametrize("text,want", [
    ("00:04.0", (-1, 0, 4, 0)), ("4", (-1, -1, 4, -1)), ("0000:00:04.7", (0, 0, 4, 7)),
    (":4", (-1, -1, 4, -1)), ("*:*.*", (-1, -1, -1, -1)), ("", (-1, -1, -1, -1))])
def test_slot_filters(text: str, want: tuple) -> None:
    assert parse_slot_filter(text) == want


@pytest.mark.parametrize("text,msg", [
    ("zz:zz.z", "Invalid function number"), ("-1", "Invalid slot number"),
    ("100:00.0", "Invalid bus number"), ("20", "Invalid slot number"),
    ("00:04.8", "Invalid function number"), ("1:2:3:4", "Invalid slot/function number")])
def test_bad_slot_filters(text: str, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_slot_filter(text)


def test_id_filters() -> None:
    assert parse_id_filter("1234:11e8") == (0x1234, 0x11E8)
    assert parse_id_filter(":11e8") == (-1, 0x11E8)
    for text, msg in (("zzzz:1", "Invalid vendor ID"), ("12345:1", "Invalid vendor ID"),
                      ("1234:fffff", "Invalid device ID"), ("1234", "':' expected")):
        with pytest.raises(ValueError, match=msg):
            parse_id_filter(text)
