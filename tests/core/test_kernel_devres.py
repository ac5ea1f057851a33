"""Managed resources: devm_ioremap_resource (its three failures, its region name),
devm_request_mem_region, devm_iounmap, devm_request_resource, the platform
functions, and last-in first-out release on unbind and on a failed probe."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_rig import DEV_BASE, Rig, new_lines

import iomem
from iomem.kernel import (
    DEFINE_RES_IO,
    DEFINE_RES_IRQ,
    DEFINE_RES_MEM,
    EBUSY,
    EINVAL,
    ENOMEM,
    ENXIO,
    IORESOURCE_IRQ,
    IORESOURCE_MEM,
    IS_ERR,
    PTR_ERR,
    devm_add_action,
    devm_ioremap,
    devm_ioremap_resource,
    devm_iounmap,
    devm_platform_get_and_ioremap_resource,
    devm_platform_ioremap_resource,
    devm_platform_ioremap_resource_byname,
    devm_release_mem_region,
    devm_request_mem_region,
    devm_request_resource,
    platform_device,
    platform_device_register,
    platform_driver,
    platform_driver_register,
    platform_get_irq,
    platform_get_irq_byname,
    platform_get_resource,
    platform_get_resource_byname,
    platform_irq_count,
    readl,
)
from iomem.kernel.devres import IORESOURCE_MEM_NONPOSTED
from iomem.kernel.resource import Resource

UART = "9000000.uart"


def uart_resources(flags: int = 0) -> list[Resource]:
    mem = DEFINE_RES_MEM(DEV_BASE, 0x1000, "uart@9000000")
    mem.flags |= flags
    return [mem, DEFINE_RES_IRQ(33)]


def bind(rig: Rig, probe: Callable, resources: list[Resource] | None = None,
         remove: Callable | None = None, name: str = UART) -> platform_device:
    """Register a DT-style device (resources not inserted) and a driver for it."""
    pdev = platform_device(name, resources=uart_resources() if resources is None else resources)
    assert platform_device_register(pdev, insert_resources=False) == 0
    assert platform_driver_register(platform_driver("uart-drv", probe=probe, remove=remove,
                                                    id_table=[name])) == 0
    return pdev


# -- devm_ioremap_resource -----------------------------------------------------------------

def test_devm_ioremap_resource_claims_maps_and_names_the_region(rig: Rig) -> None:
    k = rig.k
    got = {}

    def probe(pdev):
        got["base"] = devm_ioremap_resource(pdev, platform_get_resource(pdev, IORESOURCE_MEM, 0))
        return 0

    pdev = bind(rig, probe)
    assert pdev.driver is not None
    assert k.proc_iomem() == ("09000000-09000fff : 9000000.uart uart@9000000\n"
                              "40000000-400fffff : System RAM\n")
    rig.dev.poke(0x18, 4, 0x90)
    assert readl(got["base"] + 0x18) == 0x90
    assert "__devm_ioremap+" in k.proc_vmallocinfo()


def test_a_resource_without_a_name_is_requested_as_the_device(rig: Rig) -> None:
    bind(rig, lambda pdev: 0 if not IS_ERR(devm_ioremap_resource(pdev, pdev.resource[0]))
         else -1, resources=[Resource(DEV_BASE, DEV_BASE + 0xFFF, None, IORESOURCE_MEM)])
    assert rig.k.proc_iomem().splitlines()[0] == "09000000-09000fff : 9000000.uart"


@pytest.mark.parametrize("res", [None, DEFINE_RES_IO(0x60, 4), DEFINE_RES_IRQ(33)])
def test_devm_ioremap_resource_invalid_resource(rig: Rig, res) -> None:
    k = rig.k
    pdev = platform_device("x")
    platform_device_register(pdev)
    n = len(k.log)
    ret = devm_ioremap_resource(pdev, res)
    assert IS_ERR(ret) and PTR_ERR(ret) == -EINVAL
    assert new_lines(k, n) == ["platform x: invalid resource"]
    assert k.log.records[-1].level == 3
    assert pdev.devres == []


def test_devm_ioremap_resource_busy_region(rig: Rig) -> None:
    k = rig.k
    k.request_mem_region(DEV_BASE + 0x10, 4, "squatter")
    seen = {}

    def probe(pdev):
        seen["ret"] = devm_ioremap_resource(pdev, pdev.resource[0])
        return PTR_ERR(seen["ret"])

    n = len(k.log)
    bind(rig, probe)
    assert PTR_ERR(seen["ret"]) == -EBUSY
    assert new_lines(k, n) == [
        "uart-drv 9000000.uart: can't request region for resource [mem 0x09000000-0x09000fff]",
        "uart-drv: probe of 9000000.uart failed with error -16"]


def test_devm_ioremap_resource_ioremap_failure_releases_the_region(x86: Rig) -> None:
    """x86 has no ioremap_np: a non-posted MEM resource cannot be mapped there."""
    k = x86.k
    before = k.proc_iomem()
    seen = {}

    def probe(pdev):
        seen["ret"] = devm_ioremap_resource(pdev, pdev.resource[0])
        return PTR_ERR(seen["ret"])

    n = len(k.log)
    pdev = bind(x86, probe, resources=uart_resources(IORESOURCE_MEM_NONPOSTED))
    assert PTR_ERR(seen["ret"]) == -ENOMEM
    assert new_lines(k, n) == [
        "uart-drv 9000000.uart: ioremap failed for resource [mem 0x09000000-0x09000fff]",
        "uart-drv: probe of 9000000.uart failed with error -12"]
    assert k.proc_iomem() == before and k.vm_areas() == [] and pdev.devres == []


def test_arm64_maps_a_non_posted_resource_with_ioremap_np(rig: Rig) -> None:
    seen = {}

    def probe(pdev):
        seen["base"] = devm_ioremap_resource(pdev, pdev.resource[0])
        return 0

    bind(rig, probe, resources=uart_resources(IORESOURCE_MEM_NONPOSTED))
    assert rig.k.pte(seen["base"]).memtype == "Device-nGnRnE"


def test_devm_ioremap_resource_ioremap_failure_on_arm64(rig: Rig) -> None:
    k = rig.k
    pdev = platform_device("far", resources=[DEFINE_RES_MEM(1 << 48, 0x1000, "far")])
    platform_device_register(pdev, insert_resources=False)
    n = len(k.log)
    ret = devm_ioremap_resource(pdev, pdev.resource[0])
    assert PTR_ERR(ret) == -ENOMEM
    assert new_lines(k, n) == [
        "platform far: ioremap failed for resource [mem 0x1000000000000-0x1000000000fff]"]
    assert pdev.devres == [] and "far" not in k.proc_iomem()


# -- release order -------------------------------------------------------------------------

def test_unbind_releases_last_in_first_out(rig: Rig) -> None:
    k = rig.k
    events: list[tuple] = []

    def state(tag: str) -> None:
        events.append((tag, len(k.vm_areas()), "9000000.uart" in k.proc_iomem()))

    def probe(pdev):
        devm_add_action(pdev, state, "first action")
        devm_ioremap_resource(pdev, pdev.resource[0])
        devm_add_action(pdev, state, "last action")
        return 0

    bind(rig, probe, remove=lambda pdev: state("remove"))
    assert k.devices.unbind(UART) == 0
    # remove() first, then devres newest first: the mapping goes before the region
    assert events == [("remove", 1, True), ("last action", 1, True),
                      ("first action", 0, False)]
    assert k.proc_iomem() == "40000000-400fffff : System RAM\n" and k.vm_areas() == []


def test_a_failed_probe_releases_everything_after_the_message(rig: Rig) -> None:
    k = rig.k
    events: list[str] = []

    def probe(pdev):
        devm_add_action(pdev, lambda _x: events.append("released"))
        devm_ioremap_resource(pdev, pdev.resource[0])
        devm_request_mem_region(pdev, DEV_BASE + 0x2000, 0x100, "extra")
        return -5

    n = len(k.log)
    k.log.listeners.append(lambda rec: events.append(rec.text))
    pdev = bind(rig, probe)
    assert events == ["uart-drv: probe of 9000000.uart failed with error -5", "released"]
    assert new_lines(k, n) == ["uart-drv: probe of 9000000.uart failed with error -5"]
    assert pdev.driver is None and pdev.devres == []
    assert k.proc_iomem() == "40000000-400fffff : System RAM\n" and k.vm_areas() == []


def test_a_probe_that_raises_still_releases(rig: Rig) -> None:
    def probe(pdev):
        devm_ioremap_resource(pdev, pdev.resource[0])
        raise RuntimeError("driver bug")

    with pytest.raises(RuntimeError, match="driver bug"):
        bind(rig, probe)
    assert rig.k.vm_areas() == [] and "uart" not in rig.k.proc_iomem()


# -- the other devm_* functions ------------------------------------------------------------

def test_devm_iounmap_and_devm_release_mem_region(rig: Rig) -> None:
    k = rig.k
    pdev = platform_device("x")
    platform_device_register(pdev)
    base = devm_ioremap(pdev, DEV_BASE, 0x100)
    r = devm_request_mem_region(pdev, DEV_BASE, 0x100, "x-regs")
    assert r.name == "x-regs" and len(pdev.devres) == 2
    n = len(k.log)
    devm_iounmap(pdev, base)
    devm_release_mem_region(pdev, DEV_BASE, 0x100)
    assert pdev.devres == [] and k.vm_areas() == [] and "x-regs" not in k.proc_iomem()
    assert new_lines(k, n) == []


def test_devm_iounmap_of_an_unmanaged_mapping_warns(rig: Rig) -> None:
    k = rig.k
    pdev = platform_device("x")
    platform_device_register(pdev)
    plain = k.ioremap(DEV_BASE, 0x100)
    n = len(k.log)
    devm_iounmap(pdev, plain)
    out = new_lines(k, n)
    assert out[0] == "------------[ cut here ]------------"
    assert out[1].startswith("WARNING: CPU: 0 PID: 1 at lib/devres.c:")
    assert k.vm_areas() == []  # iounmap still runs


def test_devm_release_mem_region_of_an_unmanaged_region_warns(rig: Rig) -> None:
    k = rig.k
    pdev = platform_device("x")
    platform_device_register(pdev)
    k.request_mem_region(DEV_BASE, 0x100, "plain")
    n = len(k.log)
    devm_release_mem_region(pdev, DEV_BASE, 0x100)
    out = new_lines(k, n)
    assert out[1].startswith("WARNING: CPU: 0 PID: 1 at kernel/resource.c:")
    assert "plain" not in k.proc_iomem()


def test_devm_request_resource_collision(rig: Rig) -> None:
    k = rig.k
    pdev = platform_device("x")
    platform_device_register(pdev)
    mine = Resource(DEV_BASE, DEV_BASE + 0xFFF, "mine", IORESOURCE_MEM)
    assert devm_request_resource(pdev, k.iomem_resource, mine) == 0
    clash = Resource(DEV_BASE + 0x800, DEV_BASE + 0x17FF, "clash", IORESOURCE_MEM)
    n = len(k.log)
    assert devm_request_resource(pdev, k.iomem_resource, clash) == -EBUSY
    assert new_lines(k, n) == ["platform x: resource collision: [mem 0x09000800-0x090017ff] "
                               "conflicts with mine [mem 0x09000000-0x09000fff]"]
    k.devices.device_del(pdev)  # no driver: nothing to release yet
    assert mine.parent is not None
    k.devices.devres_release_all(pdev)
    assert mine.parent is None


# -- platform functions --------------------------------------------------------------------

def test_platform_resource_lookup(rig: Rig) -> None:
    regs = DEFINE_RES_MEM(DEV_BASE, 0x1000, "regs")
    fifo = DEFINE_RES_MEM(DEV_BASE + 0x1000, 0x100, "fifo")
    irq = DEFINE_RES_IRQ(40, "rx")
    pdev = platform_device("y", resources=[regs, irq, fifo, DEFINE_RES_IRQ(41, "tx")])
    platform_device_register(pdev, insert_resources=False)
    assert platform_get_resource(pdev, IORESOURCE_MEM, 0) is regs
    assert platform_get_resource(pdev, IORESOURCE_MEM, 1) is fifo
    assert platform_get_resource(pdev, IORESOURCE_MEM, 2) is None
    assert platform_get_resource_byname(pdev, IORESOURCE_MEM, "fifo") is fifo
    assert platform_get_resource(pdev, IORESOURCE_IRQ, 1).start == 41
    assert platform_irq_count(pdev) == 2
    assert platform_get_irq(pdev, 0) == 40 and platform_get_irq_byname(pdev, "tx") == 41
    n = len(rig.k.log)
    assert platform_get_irq(pdev, 2) == -ENXIO
    assert platform_get_irq_byname(pdev, "err") == -ENXIO
    assert new_lines(rig.k, n) == ["platform y: IRQ index 2 not found",
                                   "platform y: IRQ err not found"]


def test_devm_platform_ioremap_resource(rig: Rig) -> None:
    k = rig.k
    seen = {}

    def probe(pdev):
        seen["base"] = devm_platform_ioremap_resource(pdev, 0)
        seen["missing"] = devm_platform_ioremap_resource(pdev, 1)
        seen["byname"] = devm_platform_ioremap_resource_byname(pdev, "nope")
        seen["pair"] = devm_platform_get_and_ioremap_resource(pdev, 1)
        return 0

    n = len(k.log)
    bind(rig, probe)
    assert not IS_ERR(seen["base"]) and seen["base"].phys == DEV_BASE
    assert PTR_ERR(seen["missing"]) == PTR_ERR(seen["byname"]) == -EINVAL
    assert PTR_ERR(seen["pair"][0]) == -EINVAL and seen["pair"][1] is None
    assert new_lines(k, n) == ["uart-drv 9000000.uart: invalid resource"] * 3


def test_platform_device_register_inserts_its_resources(rig: Rig) -> None:
    k = rig.k
    pdev = platform_device("serial8250", id=0, resources=[DEFINE_RES_MEM(DEV_BASE, 0x100)])
    assert pdev.name == "serial8250.0"
    assert platform_device_register(pdev) == 0
    assert k.proc_iomem().splitlines()[0] == "09000000-090000ff : serial8250.0"  # dev_name
    other = platform_device("dup", resources=[DEFINE_RES_MEM(DEV_BASE + 0x80, 0x100)])
    before = k.proc_iomem()
    n = len(k.log)
    assert platform_device_register(other) == -EBUSY
    assert new_lines(k, n) == ["platform dup: failed to claim resource 0: "
                               "[mem 0x09000080-0x0900017f]"]
    assert k.proc_iomem() == before and other not in k.devices.devices
    iomem.platform_device_unregister(pdev)
    assert k.proc_iomem() == "40000000-400fffff : System RAM\n"
