"""The driver core (drivers/base/dd.c, core.c): probe results as call_driver_probe
reports them, deferred probing, bind/unbind, matching, dev_printk prefixes."""

from __future__ import annotations

import pytest
from core_rig import Rig, new_lines

from iomem.kernel import (
    EBUSY,
    EIO,
    ENODEV,
    ENXIO,
    EPROBE_DEFER,
    OfDeviceId,
    dev_err,
    dev_err_probe,
    dev_info,
    devm_add_action,
    of_device_get_match_data,
    platform_device,
    platform_device_register,
    platform_device_unregister,
    platform_driver,
    platform_driver_register,
    platform_driver_unregister,
)
from iomem.kernel.printk import KERN_DEBUG, KERN_WARNING


def device(name: str, **kw) -> platform_device:
    pdev = platform_device(name, **kw)
    assert platform_device_register(pdev) == 0
    return pdev


@pytest.mark.parametrize("ret, bound", [(0, True), (None, True), (-EIO, False),
                                        (-EBUSY, False), (1, False)])
def test_probe_return_values_are_honoured(rig: Rig, ret, bound: bool) -> None:
    k = rig.k
    pdev = device("dev0")
    n = len(k.log)
    platform_driver_register(platform_driver("dev0", probe=lambda p: ret))
    assert (pdev.driver is not None) is bound
    if bound:
        assert new_lines(k, n) == []
    else:
        assert new_lines(k, n) == [f"dev0: probe of dev0 failed with error {ret}"]
        assert k.log.records[-1].level == KERN_WARNING


@pytest.mark.parametrize("ret", [-ENODEV, -ENXIO])
def test_probe_rejecting_the_match_is_only_a_debug_line(rig: Rig, ret: int) -> None:
    k = rig.k
    pdev = device("dev0")
    n = len(k.log)
    platform_driver_register(platform_driver("dev0", probe=lambda p: ret))
    assert pdev.driver is None
    assert new_lines(k, n) == []  # pr_debug is off, as in a kernel without dyndbg
    k.log.debug = True
    platform_driver_register(platform_driver("dev0b", probe=lambda p: ret,
                                             of_match_table=None, id_table=["dev0"]))
    assert new_lines(k, n) == [f"dev0b: probe of dev0 rejects match {ret}"]
    assert k.log.records[-1].level == KERN_DEBUG


def test_probe_must_return_an_int(rig: Rig) -> None:
    pdev = device("dev0")
    with pytest.raises(TypeError, match="probe must return 0 or a negative errno, not 'ok'"):
        platform_driver_register(platform_driver("dev0", probe=lambda p: "ok"))
    assert pdev.driver is None


def test_deferred_probe_is_retried_after_another_driver_binds(rig: Rig) -> None:
    k = rig.k
    k.log.debug = True  # the deferral line is a dev_dbg
    clock_ready = []
    consumer = device("consumer")
    provider = device("provider")
    n = len(k.log)
    tries = []

    def consumer_probe(pdev):
        tries.append(bool(clock_ready))
        return 0 if clock_ready else -EPROBE_DEFER

    platform_driver_register(platform_driver("consumer", probe=consumer_probe))
    assert consumer.driver is None and k.devices.deferred == [consumer]
    assert new_lines(k, n) == ["consumer consumer: Driver consumer requests probe deferral"]
    assert k.log.records[-1].level == KERN_DEBUG

    def provider_probe(pdev):
        clock_ready.append(True)
        return 0

    platform_driver_register(platform_driver("provider", probe=provider_probe))
    assert provider.driver is not None and consumer.driver is not None
    assert tries == [False, True] and k.devices.deferred == []


def test_a_deferred_probe_keeps_nothing(rig: Rig) -> None:
    released = []
    pdev = device("d")

    def probe(p):
        devm_add_action(p, released.append, "x")
        return -EPROBE_DEFER

    platform_driver_register(platform_driver("d", probe=probe))
    assert released == ["x"] and pdev.devres == [] and pdev.driver is None
    assert rig.k.devices.deferred == [pdev]


def test_bind_and_unbind(rig: Rig) -> None:
    k = rig.k
    calls = []
    pdev = device("uart")
    drv = platform_driver("uart", probe=lambda p: calls.append("probe"),
                          remove=lambda p: calls.append("remove"))
    platform_driver_register(drv)
    assert pdev.driver is drv and calls == ["probe"]
    assert k.devices.bind("uart", "uart") == -EBUSY  # already bound
    assert k.devices.unbind("uart") == 0
    assert pdev.driver is None and calls == ["probe", "remove"]
    assert k.devices.bind("uart", "uart") == 0
    assert pdev.driver is drv and calls == ["probe", "remove", "probe"]
    assert k.devices.bind("nope", "uart") == -ENODEV
    assert k.devices.bind("uart", "nope") == -ENODEV
    assert k.devices.unbind("nope") == -ENODEV
    platform_driver_unregister(drv)
    assert pdev.driver is None and calls[-1] == "remove"


def test_bind_to_a_driver_that_does_not_match(rig: Rig) -> None:
    k = rig.k
    device("a")
    platform_driver_register(platform_driver("b"))
    assert k.devices.bind("b", "a") == -ENODEV


def test_unregistering_a_device_unbinds_it(rig: Rig) -> None:
    calls = []
    pdev = device("gone")
    platform_driver_register(platform_driver("gone", remove=lambda p: calls.append("remove")))
    platform_device_unregister(pdev)
    assert calls == ["remove"] and pdev not in rig.k.devices.devices


def test_matching_by_of_table_id_table_override_and_name(rig: Rig) -> None:
    class Node:
        compatible = ["vendor,uart-v2", "vendor,uart"]

    dt = device("9000000.serial", of_node=Node())
    by_id = device("legacy-uart")
    overridden = device("whatever")
    overridden.driver_override = "picky"
    table = [OfDeviceId(compatible="vendor,uart", data="v1"),
             OfDeviceId(compatible="vendor,uart-v2", data="v2")]
    seen = {}

    def probe(pdev):
        seen[pdev.name] = of_device_get_match_data(pdev)
        return 0

    platform_driver_register(platform_driver("vendor-uart", probe=probe, of_match_table=table,
                                             id_table=["legacy-uart"]))
    platform_driver_register(platform_driver("picky"))
    assert seen == {"9000000.serial": "v2", "legacy-uart": None}  # most specific wins
    assert dt.driver.name == by_id.driver.name == "vendor-uart"
    assert overridden.driver.name == "picky"


def test_duplicate_registrations_fail(rig: Rig) -> None:
    k = rig.k
    device("dup")
    assert platform_driver_register(platform_driver("drv")) == 0
    n = len(k.log)
    assert platform_driver_register(platform_driver("drv")) == -EBUSY
    assert new_lines(k, n) == ["Error: Driver 'drv' is already registered, aborting..."]
    again = platform_device("dup")
    n = len(k.log)
    assert platform_device_register(again) == -17  # -EEXIST
    assert again not in k.devices.devices
    out = new_lines(k, n)
    assert out[0] == "sysfs: cannot create duplicate filename '/devices/platform/dup'"
    assert out[1].startswith("CPU: 0 PID: 1 Comm: swapper/0 ")  # dump_stack()
    assert out[-1] == ("kobject_add_internal failed for dup with -EEXIST, don't try to "
                       "register things with the same name in the same directory.")


# -- dev_printk ------------------------------------------------------------------------------

def test_dev_printk_prefix_is_driver_or_bus_then_device(rig: Rig) -> None:
    k = rig.k
    pdev = device("dev0")
    n = len(k.log)
    dev_info(pdev, "unbound %d\n", 1)
    platform_driver_register(platform_driver("dev0"))
    dev_err(pdev, "bound")
    assert new_lines(k, n) == ["platform dev0: unbound 1", "dev0 dev0: bound"]


def test_dev_err_probe(rig: Rig) -> None:
    k = rig.k
    pdev = device("dev0")
    n = len(k.log)
    assert dev_err_probe(pdev, -EBUSY, "no clock %s\n", "uart") == -EBUSY
    assert dev_err_probe(pdev, -EPROBE_DEFER, "no clock yet") == -EPROBE_DEFER
    assert new_lines(k, n) == ["platform dev0: error -EBUSY: no clock uart"]
