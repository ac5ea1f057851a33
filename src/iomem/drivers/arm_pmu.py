"""The Armv8 PMU platform driver (arch/arm64/kernel/perf_event.c, drivers/perf/arm_pmu.c
and arm_pmu_platform.c of Linux 6.1).

The PMU is a CPU feature, not MMIO, but its driver takes a Linux irq number
when it probes (``platform_get_irq``: Linux irq 14 on ``virt``, after the
PL011's 13), which every later mapping depends on, and it claims it as
``arm-pmu`` in /proc/interrupts.  The counter count is the simulated CPU's:
QEMU's Cortex-A57 has six event counters plus the cycle counter.
"""

from __future__ import annotations

from ..kernel.device import OfDeviceId, dev_err_probe, dev_warn, of_device_get_match_data
from ..kernel.irq import IRQ_NONE, request_irq
from ..kernel.kernel import current_kernel
from ..kernel.platform import (
    platform_device,
    platform_driver,
    platform_driver_register,
    platform_get_irq,
    platform_irq_count,
)

DRV_NAME = "armv8-pmu"
ARMV8_PMU_EVENT_COUNTERS = 6  # PMCR_EL0.N of the simulated CPU

armv8_pmu_of_device_ids = [
    OfDeviceId(compatible="arm,armv8-pmuv3", data="armv8_pmuv3"),
    OfDeviceId(compatible="arm,cortex-a34-pmu", data="armv8_cortex_a34"),
    OfDeviceId(compatible="arm,cortex-a35-pmu", data="armv8_cortex_a35"),
    OfDeviceId(compatible="arm,cortex-a53-pmu", data="armv8_cortex_a53"),
    OfDeviceId(compatible="arm,cortex-a55-pmu", data="armv8_cortex_a55"),
    OfDeviceId(compatible="arm,cortex-a57-pmu", data="armv8_cortex_a57"),
    OfDeviceId(compatible="arm,cortex-a65-pmu", data="armv8_cortex_a65"),
    OfDeviceId(compatible="arm,cortex-a72-pmu", data="armv8_cortex_a72"),
    OfDeviceId(compatible="arm,cortex-a73-pmu", data="armv8_cortex_a73"),
    OfDeviceId(compatible="arm,cortex-a75-pmu", data="armv8_cortex_a75"),
    OfDeviceId(compatible="arm,cortex-a76-pmu", data="armv8_cortex_a76"),
    OfDeviceId(compatible="arm,cortex-a77-pmu", data="armv8_cortex_a77"),
    OfDeviceId(compatible="arm,neoverse-n1-pmu", data="armv8_neoverse_n1"),
]


def armpmu_dispatch_irq(irq: int, dev_id: object) -> int:
    """Nothing counts here, so nothing overflows."""
    return IRQ_NONE


def armv8_pmu_device_probe(pdev: platform_device) -> int:
    """``arm_pmu_device_probe``: parse the irqs, claim them, register the PMU."""
    name = of_device_get_match_data(pdev) or "armv8_pmuv3"
    num_irqs = platform_irq_count(pdev)
    if num_irqs < 0:
        return dev_err_probe(pdev, num_irqs, "unable to count PMU IRQs")
    if num_irqs == 0:
        dev_warn(pdev, "no irqs for PMU, sampling events not supported")
    else:
        irq = platform_get_irq(pdev, 0)
        if irq > 0:
            ret = request_irq(irq, armpmu_dispatch_irq, 0, "arm-pmu", pdev)
            if ret:
                current_kernel().printk_err(f"hw perfevents: unable to request IRQ{irq} for "
                                            "ARM PMU counters")
                return ret
    current_kernel().printk_info(f"hw perfevents: enabled with {name} PMU driver, "
                                 f"{ARMV8_PMU_EVENT_COUNTERS + 1} counters available")
    return 0


def armv8_pmu_driver() -> platform_driver:
    """A fresh ``struct platform_driver`` (the PMU cannot be unbound in Linux either:
    it has no remove)."""
    return platform_driver(DRV_NAME, armv8_pmu_device_probe,
                           of_match_table=armv8_pmu_of_device_ids)


def armv8_pmu_driver_init() -> int:
    """``device_initcall(armv8_pmu_driver_init)``."""
    return platform_driver_register(armv8_pmu_driver())
