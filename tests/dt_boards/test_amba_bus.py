"""The AMBA bus: the resource inserted at add, IDs read through the registers, masked
matching, the DT override, deferral while the IDs cannot be read, driver_override."""

from __future__ import annotations

import iomem
from iomem.kernel import ERR_PTR, IS_ERR, PTR_ERR, devm_ioremap_resource, readl
from iomem.kernel.amba import (
    amba_driver,
    amba_driver_register,
    amba_id,
    amba_release_regions,
    amba_request_regions,
)

UART = """
    uart@9000000 {
        compatible = "arm,pl011", "arm,primecell"; reg = <0x9000000 0x1000>;
        interrupts = <0 1 4>; clocks = <&clk>, <&clk>; clock-names = "uartclk", "apb_pclk";
    };
"""


def _driver(name: str, ids: list[amba_id], seen: list) -> amba_driver:
    def probe(adev, id) -> int:
        seen.append((adev.name, id, list(adev.irq[:2])))
        return 0
    return amba_driver(name, probe=probe, id_table=ids)


def test_the_resource_is_inserted_under_the_node_name_and_the_ids_read_at_add(boot) -> None:
    k = boot(UART, builtin_drivers=False)
    adev = k.devices.find_device("9000000.uart")
    assert adev.bus.name == "amba" and adev.driver is None
    assert k.proc_iomem().splitlines()[0] == "09000000-09000fff : uart@9000000"
    assert (adev.periphid, adev.cid) == (0x00341011, 0xB105F00D)  # the model's r1p5
    assert adev.irq == [0] * 9  # mapped at probe, not at add
    assert k.vm_areas() == []  # amba_read_periphid unmapped its window


def test_match_is_masked_and_probe_gets_the_entry_and_the_irqs(boot) -> None:
    k = boot(UART, builtin_drivers=False)
    seen: list = []
    wrong = amba_id(0x00041012, 0x000FFFFF)
    right = amba_id(0x00041011, 0x000FFFFF, data="arm")
    with k:
        assert amba_driver_register(_driver("not-me", [wrong], seen)) == 0
        assert seen == []
        assert amba_driver_register(_driver("me", [wrong, right, amba_id(0, 0)], seen)) == 0
    assert seen == [("9000000.uart", right, [9, 0])]  # SPI 1 is the first Linux irq here
    assert k.devices.find_device("9000000.uart").driver.name == "me"


def test_a_dt_periphid_wins_over_the_registers(boot) -> None:
    k = boot(UART.replace("reg = <0x9000000 0x1000>;",
                          "reg = <0x9000000 0x1000>; arm,primecell-periphid = <0x00380802>;"),
             builtin_drivers=False)
    seen: list = []
    with k:
        amba_driver_register(_driver("st-uart", [amba_id(0x00380802, 0x00FFFFFF)], seen))
    assert k.devices.find_device("9000000.uart").periphid == 0x00380802
    assert [s[0] for s in seen] == ["9000000.uart"]


def test_ids_that_cannot_be_read_defer_the_device(boot) -> None:
    """No model (reads 0: no PrimeCell cell ID) or no apb_pclk: added, never matched."""
    k = boot("""
        thing@9000000 { compatible = "acme,thing", "arm,primecell"; reg = <0x9000000 0x1000>;
                        clocks = <&clk>; clock-names = "apb_pclk"; };
        clockless@9010000 { compatible = "arm,pl031", "arm,primecell";
                            reg = <0x9010000 0x1000>; };
    """)
    thing, clockless = (k.devices.find_device(n) for n in ("9000000.thing", "9010000.clockless"))
    assert thing.periphid == 0 and clockless.periphid == 0
    assert thing.deferred and clockless.deferred and clockless.driver is None
    assert "amba 9000000.thing: deferred probe pending" in k.dmesg()
    assert "amba 9010000.clockless: deferred probe pending" in k.dmesg()
    assert k.proc_iomem().splitlines()[:2] == ["09000000-09000fff : thing@9000000",
                                               "09010000-09010fff : clockless@9010000"]


def test_driver_override_binds_only_the_named_driver(boot) -> None:
    k = boot(UART, builtin_drivers=False)
    adev = k.devices.find_device("9000000.uart")
    adev.driver_override = "other"
    seen: list = []
    with k:
        amba_driver_register(_driver("uart-pl011", [amba_id(0x00041011, 0x000FFFFF)], seen))
        assert seen == []
        amba_driver_register(_driver("other", [], seen))
    assert adev.driver.name == "other"


def test_amba_request_regions_names_the_claim_after_the_driver(boot) -> None:
    k = boot(UART, builtin_drivers=False)
    names = []

    def probe(adev, id) -> int:
        ret = amba_request_regions(adev, None)
        names.append(k.proc_iomem().splitlines()[1])
        assert amba_request_regions(adev, "again") == -16
        amba_release_regions(adev)
        assert amba_request_regions(adev, "mine") == 0
        names.append(k.proc_iomem().splitlines()[1])
        return ret

    with k:
        amba_driver_register(amba_driver("claimer", probe=probe,
                                         id_table=[amba_id(0x00041011, 0x000FFFFF)]))
    assert names == ["  09000000-09000fff : claimer", "  09000000-09000fff : mine"]


def test_overlapping_primecells_fail_to_add(boot) -> None:
    k = boot(UART + """
        dup@9000800 { compatible = "arm,pl031", "arm,primecell"; reg = <0x9000800 0x1000>;
                      clocks = <&clk>; clock-names = "apb_pclk"; };
    """, builtin_drivers=False)
    assert "amba_device_add() failed (-16) for /dup@9000800" in k.dmesg()
    assert k.devices.find_device("9000800.dup") is None


def test_a_probe_error_undoes_the_devres_and_the_clock(boot) -> None:
    k = boot(UART, builtin_drivers=False)

    def probe(adev, id) -> int:
        base = devm_ioremap_resource(adev, adev.res)
        assert not IS_ERR(base) and readl(base + 0xFE0) == 0x11
        return PTR_ERR(ERR_PTR(-22))

    with k:
        amba_driver_register(amba_driver("failing", probe=probe,
                                         id_table=[amba_id(0x00041011, 0x000FFFFF)]))
    adev = k.devices.find_device("9000000.uart")
    assert adev.driver is None and adev.pclk is None and k.vm_areas() == []
    assert "failing: probe of 9000000.uart failed with error -22" in k.dmesg()
    assert k.proc_iomem().splitlines()[1] == "40000000-40ffffff : System RAM"


def test_virt_amba_devices_are_added_in_the_order_of_the_tree() -> None:
    k = iomem.boot("virt")
    assert [d.name for d in k.devices.devices if d.bus and d.bus.name == "amba"] == [
        "9030000.pl061", "9010000.pl031", "9000000.pl011"]  # creation order, as in the tree


def test_a_duplicate_amba_device_is_refused_with_its_sysfs_path() -> None:
    from iomem.kernel.amba import amba_device, amba_device_add
    from iomem.kernel.resource import Resource

    k = iomem.boot("virt", drivers=False)
    with k:
        dup = amba_device("9000000.pl011", Resource(0x09100000, 0x09100FFF, None, 0x200),
                          periphid=0x00041011)
        assert amba_device_add(dup) == -17
    assert ("sysfs: cannot create duplicate filename '/devices/platform/9000000.pl011'"
            in k.dmesg())
    assert "09100000" not in k.proc_iomem()  # the resource went back with the failure
