"""Pitfall: an interrupt still requested after the driver unbinds -- the corrected driver.

Free it in ``remove()`` (or request it with ``devm_request_irq``).

    iomem run --check examples/pitfalls/leak_irq_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.kernel.irq import IRQ_HANDLED, free_irq, irq_has_action, request_irq


def handler(irq: int, dev_id: object) -> int:
    return IRQ_HANDLED


def probe(pdev: iomem.platform_device) -> int:
    irq = iomem.platform_get_irq(pdev, 0)
    if irq < 0:
        return irq
    return request_irq(irq, handler, 0, "lab", pdev)


def remove(pdev: iomem.platform_device) -> None:
    free_irq(iomem.platform_get_irq(pdev, 0), pdev)


def main(model: str = "adversarial") -> tuple[iomem.Kernel, tuple[bool, bool]]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe, remove=remove,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        pdev = k.devices.find_device("a000000.lab")
        irq = iomem.platform_get_irq(pdev, 0)
        iomem.platform_driver_unregister(drv)
        stale = irq_has_action(irq)
        print(f"irq {irq} handler installed after unbind: {'yes' if stale else 'no'}")
        iomem.platform_driver_register(drv)
        bound = pdev.driver is not None
        print(f"bound again: {'yes' if bound else 'no'}")
        iomem.platform_driver_unregister(drv)
    return k, (stale, bound)


if __name__ == "__main__":
    main()
