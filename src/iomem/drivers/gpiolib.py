"""GPIO chips (drivers/gpio/gpiolib.c, gpiolib-devres.c) as GPIO drivers register them.

A driver fills a :class:`gpio_chip` (``ngpio``, ``base = -1`` for a dynamic
base, callbacks) and calls :func:`devm_gpiochip_add_data`; dynamic bases are
handed out downwards from ARCH_NR_GPIOS (512), so the first 8-line chip gets
504-511, as ``gpiochip_find_base`` does in Linux 6.1.  Consumers use
:func:`gpiochip_find` and the chip's ``get``/``set``/``direction_*`` through
the ``gpiod``-style helpers here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..kernel.errno import EBUSY, EINVAL, ENOSPC

if TYPE_CHECKING:
    from ..kernel.device import Device
    from ..kernel.kernel import Kernel

ARCH_NR_GPIOS = 512
GPIO_LINE_DIRECTION_IN = 1
GPIO_LINE_DIRECTION_OUT = 0


@dataclass(eq=False)
class gpio_chip:  # noqa: N801 - the kernel's name
    """``struct gpio_chip``: callbacks take the chip and a line offset."""

    label: str = ""
    parent: Device | None = None
    base: int = -1
    ngpio: int = 0
    get_direction: Callable[[gpio_chip, int], int] | None = None
    direction_input: Callable[[gpio_chip, int], int] | None = None
    direction_output: Callable[[gpio_chip, int, int], int] | None = None
    get: Callable[[gpio_chip, int], int] | None = None
    set: Callable[[gpio_chip, int, int], None] | None = None
    data: Any = None
    irq_domain: Any = None
    requested: dict[int, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<gpio_chip {self.label} {self.base}-{self.base + self.ngpio - 1}>"


def gpiochip_get_data(gc: gpio_chip) -> Any:
    return gc.data


def _chips(k: Kernel) -> list[gpio_chip]:
    got = k.__dict__.get("_gpiochips")
    if got is None:
        got = k.__dict__["_gpiochips"] = []
    return got


def _kern(dev: Device | None = None) -> Kernel:
    from ..kernel.kernel import current_kernel

    return (dev.kernel if dev is not None and dev.kernel is not None else None) \
        or current_kernel()


def gpiochip_find_base(k: Kernel, ngpio: int) -> int:
    """The highest free range below ARCH_NR_GPIOS, as 6.1's gpiolib searches."""
    base = ARCH_NR_GPIOS - ngpio
    for gc in sorted(_chips(k), key=lambda c: c.base, reverse=True):
        if gc.base + gc.ngpio <= base:
            break
        base = gc.base - ngpio
    return base if base >= 0 else -ENOSPC


def gpiochip_add_data(gc: gpio_chip, data: Any) -> int:
    k = _kern(gc.parent)
    gc.data = data
    if gc.ngpio <= 0:
        return -EINVAL
    if gc.base < 0:
        base = gpiochip_find_base(k, gc.ngpio)
        if base < 0:
            return base
        gc.base = base
    elif any(not (c.base + c.ngpio <= gc.base or gc.base + gc.ngpio <= c.base)
             for c in _chips(k)):
        k.printk_err(f"gpiochip_add_data_with_key: GPIOs {gc.base}..{gc.base + gc.ngpio - 1} "
                     f"({gc.label}) failed to register, {-EBUSY}")
        return -EBUSY
    _chips(k).append(gc)
    return 0


def gpiochip_remove(gc: gpio_chip) -> None:
    chips = _chips(_kern(gc.parent))
    if gc in chips:
        chips.remove(gc)


def _devm_gpiochip_remove(dev: Device, gc: gpio_chip) -> None:
    gpiochip_remove(gc)


def devm_gpiochip_add_data(dev: Device, gc: gpio_chip, data: Any) -> int:
    ret = gpiochip_add_data(gc, data)
    if ret:
        return ret
    _kern(dev).devices.devres_add(dev, _devm_gpiochip_remove, gc, "devm_gpio_chip_release")
    return 0


def gpiochip_find(k: Kernel, label: str) -> gpio_chip | None:
    """The registered chip labelled ``label`` (a pl061's label is its device name)."""
    return next((c for c in _chips(k) if c.label == label), None)


def gpiochips(k: Kernel) -> list[gpio_chip]:
    return sorted(_chips(k), key=lambda c: c.base)


# the consumer side, by chip and offset (what gpiod_* do once they have a descriptor)

def gpiod_direction_input(gc: gpio_chip, offset: int) -> int:
    return gc.direction_input(gc, offset) if gc.direction_input else -EINVAL


def gpiod_direction_output(gc: gpio_chip, offset: int, value: int) -> int:
    return gc.direction_output(gc, offset, value) if gc.direction_output else -EINVAL


def gpiod_get_value(gc: gpio_chip, offset: int) -> int:
    return gc.get(gc, offset) if gc.get else -EINVAL


def gpiod_set_value(gc: gpio_chip, offset: int, value: int) -> None:
    if gc.set:
        gc.set(gc, offset, value)


def gpiod_get_direction(gc: gpio_chip, offset: int) -> int:
    return gc.get_direction(gc, offset) if gc.get_direction else -EINVAL


__all__ = ["ARCH_NR_GPIOS", "GPIO_LINE_DIRECTION_IN", "GPIO_LINE_DIRECTION_OUT",
           "devm_gpiochip_add_data", "gpio_chip", "gpiochip_add_data", "gpiochip_find",
           "gpiochip_find_base", "gpiochip_get_data", "gpiochip_remove", "gpiochips",
           "gpiod_direction_input", "gpiod_direction_output", "gpiod_get_direction",
           "gpiod_get_value", "gpiod_set_value"]
