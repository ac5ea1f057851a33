"""The driver core (drivers/base/core.c, dd.c, bus.c): devices, drivers, buses, binding.

Binding follows ``really_probe``: the driver is set on the device, the
bus's or driver's probe runs in the kernel's context, and a failure releases
every devres the probe acquired (LIFO) and unsets the driver.  -EPROBE_DEFER
puts the device on the deferred list, retried each time another driver binds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errno import ENODEV, ENXIO, EPROBE_DEFER, ErrPtr, errname
from .printk import KERN_DEBUG, KERN_ERR, KERN_INFO, KERN_WARNING
from .vsprintf import kvsprintf

if TYPE_CHECKING:
    from .kernel import Kernel


@dataclass
class OfDeviceId:
    """``struct of_device_id``: a compatible string (and optional data) to match."""

    compatible: str = ""
    name: str = ""
    type: str = ""
    data: Any = None


of_device_id = OfDeviceId


@dataclass
class DevresNode:
    release: Callable[[Device, Any], None]
    data: Any
    name: str


class BusType:
    """``struct bus_type``: how devices and drivers on this bus are matched and probed."""

    name = "bus"

    def match(self, dev: Device, drv: DeviceDriver) -> bool:
        return dev.driver_override == drv.name if dev.driver_override else drv.name == dev.name

    def probe(self, dev: Device) -> int | None:
        return dev.driver.probe(dev) if dev.driver and dev.driver.probe else 0

    def remove(self, dev: Device) -> None:
        if dev.driver and dev.driver.remove:
            dev.driver.remove(dev)


class Device:
    """``struct device``.  ``dev.dev`` is the device itself, so ``&pdev->dev``
    reads ``pdev.dev`` whether ``pdev`` is a bus-specific device or not."""

    bus_type: BusType | None = None

    def __init__(self, name: str, parent: Device | None = None, of_node: Any = None) -> None:
        self.init_name = name
        self.parent = parent
        self.of_node = of_node
        self.driver: DeviceDriver | None = None
        self.driver_data: Any = None
        self.devres: list[DevresNode] = []
        self.kernel: Kernel | None = None
        self.driver_override: str | None = None
        self.dma_mask: int = 0xFFFFFFFF
        self.coherent_dma_mask: int = 0xFFFFFFFF
        self.deferred = False

    @property
    def dev(self) -> Device:
        return self

    @property
    def name(self) -> str:
        return self.init_name

    @property
    def bus(self) -> BusType | None:
        return self.bus_type

    def __repr__(self) -> str:
        drv = f" bound to {self.driver.name}" if self.driver else ""
        return f"<{type(self).__name__} {self.name}{drv}>"


class DeviceDriver:
    """``struct device_driver``: a name, match tables and probe/remove callbacks.

    ``probe(dev)`` returns 0 (or None) on success or a negative errno.
    """

    bus_type: BusType | None = None

    def __init__(self, name: str, probe: Callable[..., int | None] | None = None,
                 remove: Callable[..., Any] | None = None,
                 of_match_table: list[OfDeviceId] | None = None) -> None:
        self.name = name
        self.probe = probe
        self.remove = remove
        self.of_match_table = list(of_match_table or [])
        self.kernel: Kernel | None = None

    @property
    def driver(self) -> DeviceDriver:
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def bad_device_address(dev: object) -> int | None:
    """Where ``dev->field`` faults when ``dev`` is NULL (0) or an ERR_PTR (its value);
    None for a device.  A kernel function given such a ``dev`` oopses there, through
    ``k.deref_dev(dev)``, so the oops's call trace starts at that function, as the
    kernel's does, and the simulator never fails on it with an AttributeError."""
    if dev is None:
        return 0
    if isinstance(dev, ErrPtr):
        return dev.value
    return None


def _kernel() -> Kernel:
    from .kernel import current_kernel

    return current_kernel()


def dev_name(dev: Device) -> str:
    _kernel().deref_dev(dev)
    return dev.name


def dev_driver_string(dev: Device) -> str:
    """What dev_printk puts first: the driver's name, else the bus's."""
    _kernel().deref_dev(dev)
    if dev.driver is not None:
        return dev.driver.name
    if dev.bus is not None:
        return dev.bus.name
    return ""


def dev_get_drvdata(dev: Device) -> Any:
    _kernel().deref_dev(dev)
    return dev.driver_data


def dev_set_drvdata(dev: Device, data: Any) -> None:
    _kernel().deref_dev(dev, True)
    dev.driver_data = data


def of_match_device(table: list[OfDeviceId], dev: Device) -> OfDeviceId | None:
    """``of_match_device``: the best entry for the node's compatible list (earlier
    compatible strings of the node win, as __of_match_node scores them)."""
    if not table:
        return None
    _kernel().deref_dev(dev)
    node = dev.of_node
    if node is None:
        return None
    compat = list(getattr(node, "compatible", None) or [])
    best, best_score = None, -1
    for entry in table:
        if entry.compatible and entry.compatible in compat:
            score = 1000 - compat.index(entry.compatible)
            if score > best_score:
                best, best_score = entry, score
    return best


def of_device_get_match_data(dev: Device) -> Any:
    _kernel().deref_dev(dev)
    if dev.driver is None:
        return None
    m = of_match_device(dev.driver.of_match_table, dev)
    return m.data if m else None


class DeviceCore:
    """The registered devices and drivers of one kernel, and their bindings."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.devices: list[Device] = []
        self.drivers: list[DeviceDriver] = []
        self.deferred: list[Device] = []

    # -- printing -------------------------------------------------------------------

    def dev_printk(self, level: int, dev: Device | None, text: str) -> None:
        if dev is None:  # __dev_printk() checks: printk("(NULL device *): ...")
            self.k.printk(level, f"(NULL device *): {text}")
            return
        prefix = dev_driver_string(dev)
        self.k.printk(level, f"{prefix} {dev.name}: {text}" if prefix else f"{dev.name}: {text}")

    # -- registration ------------------------------------------------------------------

    @staticmethod
    def sysfs_path(dev: Device) -> str:
        """Where the device sits under /sys (platform and AMBA devices without a parent hang
        off the ``platform`` bus device)."""
        names = []
        d: Device | None = dev
        while d is not None:
            names.append(d.name)
            top = d
            d = d.parent
        if top.bus is not None and top.bus.name in ("platform", "amba"):
            names.append("platform")
        return "/devices/" + "/".join(reversed(names))

    def device_add(self, dev: Device) -> int:
        if any(d.name == dev.name and d.parent is dev.parent and d.bus is dev.bus
               for d in self.devices):
            # sysfs_warn_dup() then kobject_add_internal(): -EEXIST
            self.k.printk(KERN_WARNING, f"sysfs: cannot create duplicate filename "
                                        f"'{self.sysfs_path(dev)}'")
            self.k.dump_stack()
            self.k.printk(KERN_ERR, f"kobject_add_internal failed for {dev.name} with -EEXIST, "
                                    "don't try to register things with the same name in the "
                                    "same directory.")
            return -17
        dev.kernel = self.k
        self.devices.append(dev)
        self._attach(dev)
        return 0

    def device_del(self, dev: Device) -> None:
        if dev.driver is not None:
            self.device_release_driver(dev)
        if dev in self.deferred:
            self.deferred.remove(dev)
        self.devices.remove(dev)

    def driver_register(self, drv: DeviceDriver) -> int:
        if any(d.name == drv.name and d.bus_type is drv.bus_type for d in self.drivers):
            self.k.printk_err(f"Error: Driver '{drv.name}' is already registered, aborting...")
            return -16
        drv.kernel = self.k
        self.drivers.append(drv)
        for dev in list(self.devices):  # __driver_attach
            if dev.driver is not None or dev.bus is not drv.bus_type:
                continue
            ret = self.driver_match_device(drv, dev)
            if ret == -EPROBE_DEFER:
                self._match_defer(dev)
            elif ret > 0:
                self.driver_probe_device(drv, dev)
        return 0

    def driver_unregister(self, drv: DeviceDriver) -> None:
        for dev in list(self.devices):
            if dev.driver is drv:
                self.device_release_driver(dev)
        self.drivers.remove(drv)

    def _attach(self, dev: Device) -> None:
        for drv in list(self.drivers):  # __device_attach_driver
            if dev.driver is not None:
                return
            if drv.bus_type is not dev.bus:
                continue
            ret = self.driver_match_device(drv, dev)
            if ret == -EPROBE_DEFER:
                self._match_defer(dev)
                return
            if ret < 0:
                return
            if ret > 0:
                ret = self.driver_probe_device(drv, dev)
                if ret == 0 or ret == -EPROBE_DEFER:
                    return

    @staticmethod
    def driver_match_device(drv: DeviceDriver, dev: Device) -> int:
        """The bus's match as an int: >0 match, 0 none, <0 an error (a bus that cannot
        tell yet, as the AMBA bus before it can read the IDs, says -EPROBE_DEFER)."""
        ret = dev.bus.match(dev, drv) if dev.bus is not None else 0
        return int(ret) if not isinstance(ret, bool) else (1 if ret else 0)

    def _match_defer(self, dev: Device) -> None:
        self.dev_printk(KERN_DEBUG, dev, "Device match requests probe deferral")
        dev.deferred = True
        if dev not in self.deferred:
            self.deferred.append(dev)

    # -- probe / remove -----------------------------------------------------------------

    def driver_probe_device(self, drv: DeviceDriver, dev: Device) -> int:
        """``really_probe``: bind, call probe, undo everything on failure."""
        dev.driver = drv
        self._event("probe", dev)
        try:
            with self.k.active():
                ret = dev.bus.probe(dev) if dev.bus else drv.probe(dev)
        except BaseException:
            self.devres_release_all(dev)
            dev.driver = None
            self._event("probe-failed", dev)
            raise
        ret = 0 if ret is None else ret
        if not isinstance(ret, int) or isinstance(ret, bool):
            self.devres_release_all(dev)
            dev.driver = None
            self._event("probe-failed", dev)
            raise TypeError(f"{drv.name}: probe must return 0 or a negative errno, "
                            f"not {ret!r}")
        if ret == 0:
            self._event("probed", dev)
            dev.deferred = False
            if dev in self.deferred:
                self.deferred.remove(dev)
            self._trigger_deferred()
            return 0
        # call_driver_probe reports first; then probe_failed releases the devres
        if ret == -EPROBE_DEFER:
            # dev_dbg while dev->driver is still set: "<drv> <dev>: ..."
            self.dev_printk(KERN_DEBUG, dev, f"Driver {drv.name} requests probe deferral")
        elif ret in (-ENODEV, -ENXIO):
            self.k.printk(KERN_DEBUG, f"{drv.name}: probe of {dev.name} rejects match {ret}")
        else:
            self.k.printk(KERN_WARNING, f"{drv.name}: probe of {dev.name} failed with error {ret}")
        self.devres_release_all(dev)
        dev.driver = None
        self._event("probe-failed", dev)
        if ret == -EPROBE_DEFER:
            dev.deferred = True
            if dev not in self.deferred:
                self.deferred.append(dev)
        return ret

    def _trigger_deferred(self) -> None:
        pending = list(self.deferred)
        for dev in pending:
            if dev.driver is None and dev in self.deferred:
                self._attach(dev)

    def device_release_driver(self, dev: Device) -> None:
        """Unbind: the driver's remove, then the devres release (LIFO)."""
        if dev.driver is None:
            return
        self._event("remove", dev)
        try:
            with self.k.active():
                if dev.bus is not None:
                    dev.bus.remove(dev)
                elif dev.driver.remove:
                    dev.driver.remove(dev)
        finally:
            self.devres_release_all(dev)
            dev.driver = None
            dev.driver_data = None
            self._event("unbound", dev)

    def _event(self, event: str, dev: Device) -> None:
        """Tell the kernel's driver hooks (the sanitizer's leak check) what happened."""
        for hook in self.k.driver_hooks:
            hook(event, dev)

    # sysfs bind / unbind by name
    def find_device(self, name: str) -> Device | None:
        return next((d for d in self.devices if d.name == name), None)

    def find_driver(self, name: str) -> DeviceDriver | None:
        return next((d for d in self.drivers if d.name == name), None)

    def bind(self, driver_name: str, dev_name_: str) -> int:
        drv, dev = self.find_driver(driver_name), self.find_device(dev_name_)
        if drv is None or dev is None:
            return -ENODEV
        if dev.driver is not None:
            return -16
        matched = dev.bus.match(dev, drv)
        if matched is not True and isinstance(matched, int) and matched < 0:
            return matched  # the bus cannot tell yet (-EPROBE_DEFER): bind_store fails
        if not matched:
            return -ENODEV
        return self.driver_probe_device(drv, dev)

    def unbind(self, dev_name_: str) -> int:
        dev = self.find_device(dev_name_)
        if dev is None:
            return -ENODEV
        self.device_release_driver(dev)
        return 0

    # -- devres ---------------------------------------------------------------------------

    def devres_add(self, dev: Device, release: Callable[[Device, Any], None], data: Any,
                   name: str) -> None:
        self.k.deref_dev(dev, True)  # spin_lock(&dev->devres_lock)
        dev.devres.append(DevresNode(release, data, name))

    def devres_release_all(self, dev: Device) -> None:
        """Release in reverse order of acquisition, as release_nodes() does."""
        while dev.devres:
            node = dev.devres.pop()
            with self.k.active():
                node.release(dev, node.data)

    def devres_remove(self, dev: Device, release: Callable, match: Callable[[Any], bool]
                      ) -> DevresNode | None:
        self.k.deref_dev(dev, True)  # spin_lock(&dev->devres_lock)
        for i in range(len(dev.devres) - 1, -1, -1):
            node = dev.devres[i]
            if node.release is release and match(node.data):
                del dev.devres[i]
                return node
        return None


def dev_printk_level(level: int) -> Callable[..., None]:
    def fn(dev: Device, fmt: str, *args: object) -> None:
        from .kernel import current_kernel

        k = getattr(dev, "kernel", None) or current_kernel()  # dev may be NULL
        text = kvsprintf(fmt, args)
        k.devices.dev_printk(level, dev, text.rstrip("\n"))
    return fn


dev_err = dev_printk_level(KERN_ERR)
dev_warn = dev_printk_level(KERN_WARNING)
dev_info = dev_printk_level(KERN_INFO)
dev_notice = dev_printk_level(5)
dev_dbg = dev_printk_level(KERN_DEBUG)


def dev_err_probe(dev: Device, err: int, fmt: str, *args: object) -> int:
    """Log unless deferring (then only record the reason), and return ``err``."""
    text = kvsprintf(fmt, args)
    if err != -EPROBE_DEFER:
        dev_err(dev, f"error -{errname(err)}: {text.rstrip()}")
    else:
        _kernel().deref_dev(dev)  # device_set_deferred_probe_reason
    return err

