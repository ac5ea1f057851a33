"""The generic ECAM PCI host (drivers/pci/controller/pci-host-generic.c,
pci-host-common.c, drivers/pci/of.c, drivers/pci/ecam.c of Linux 6.1).

``pci-host-generic`` binds to ``pci-host-ecam-generic`` nodes (QEMU's virt
``pcie@10000000``, named ``4010000000.pcie`` after its ECAM ``reg``):

- the ``ranges`` become the bridge's windows, each printed as the kernel
  prints them (``host bridge /pcie@10000000 ranges:``, ``      IO
  0x003eff0000..0x003effffff -> 0x0000000000``) and claimed with
  ``devm_request_resource`` under the node's full name (/proc/iomem:
  ``10000000-3efeffff : pcie@10000000``; the I/O window in /proc/ioports);
- the ECAM ``reg`` is claimed BUSY as ``PCI ECAM`` and mapped
  (``pci_remap_cfgspace``: ``ioremap_np``), ``ECAM at [mem ...] for [bus 00-ff]``;
- then the PCI core scans, sizes and assigns (no firmware assignment is
  kept, as ``PCI_REASSIGN_ALL_BUS`` says), and INTx routes through the node's
  ``interrupt-map`` when a driver enables a function.
"""

from __future__ import annotations

from typing import Any

from ..kernel import ioport as F
from ..kernel.device import OfDeviceId, dev_err, dev_info, dev_warn
from ..kernel.devres import devm_request_resource
from ..kernel.errno import EBUSY, EINVAL, ENODEV, ENOMEM
from ..kernel.kernel import current_kernel
from ..kernel.of import of_address_to_resource, of_root
from ..kernel.pci import PciEcamOps, pci_dev, pci_host_bridge, pci_host_probe
from ..kernel.platform import (
    platform_device,
    platform_driver,
    platform_driver_register,
    platform_set_drvdata,
)
from ..kernel.resource import Resource, request_resource_conflict, resource_size
from ..kernel.vsprintf import pR
from ..of import OF_BAD_ADDR, of_pci_ranges

DRV_NAME = "pci-host-generic"
ECAM_BUS_SHIFT = 20


def _range_line(kind: str, cpu: int, size: int, pci: int) -> str:
    return f"  {kind:>6} {cpu:#012x}..{cpu + size - 1:#012x} -> {pci:#012x}"


def devm_of_pci_get_host_bridge_resources(dev: platform_device, bridge: pci_host_bridge
                                          ) -> int:
    """The bus range and the ``ranges`` windows, named after the node."""
    np = dev.of_node
    bus_range = np.read_u32_array("bus-range") if np.has_property("bus-range") else None
    busn = Resource(bus_range[0], bus_range[1], np.full_name, F.IORESOURCE_BUS) \
        if bus_range and len(bus_range) == 2 else Resource(0, 0xFF, np.full_name,
                                                            F.IORESOURCE_BUS)
    if bus_range is None:
        dev_info(dev, f"  No bus range found for {np.path}, using {pR(busn)}")
    bridge.add_window(busn)
    dev_info(dev, f"host bridge {np.path} ranges:")
    for r in of_pci_ranges(np):
        is_io = bool(r.flags & F.IORESOURCE_IO)
        kind = "IO" if is_io else "MEM" if r.flags & F.IORESOURCE_MEM else "??"
        dev_info(dev, _range_line(kind, r.cpu_addr, r.size, r.pci_addr))
        if r.cpu_addr == OF_BAD_ADDR or r.size == 0:
            continue
        if is_io:
            # the I/O window is remapped to logical PIO 0 (pci_remap_iospace)
            res = Resource(0, r.size - 1, np.full_name, F.IORESOURCE_IO)
            offset = res.start - r.pci_addr
        else:
            # the kernel drops MEM_64 from host bridge windows (of_pci_get_host_bridge_resources)
            flags = F.IORESOURCE_MEM | (r.flags & F.IORESOURCE_PREFETCH)
            res = Resource(r.cpu_addr, r.cpu_addr + r.size - 1, np.full_name, flags)
            offset = r.cpu_addr - r.pci_addr
        bridge.add_window(res, offset)
    return 0


def pci_parse_request_of_pci_ranges(dev: platform_device, bridge: pci_host_bridge) -> int:
    err = devm_of_pci_get_host_bridge_resources(dev, bridge)
    if err:
        return err
    k = dev.kernel or current_kernel()
    res_valid = False
    for res, _off in bridge.windows:
        t = res.flags & F.IORESOURCE_TYPE_BITS
        parent = k.ioport_resource if t == F.IORESOURCE_IO else \
            k.iomem_resource if t == F.IORESOURCE_MEM else None
        if parent is None:
            continue
        err = devm_request_resource(dev, parent, res)
        if err:
            return err
        if t == F.IORESOURCE_MEM:
            res_valid |= not res.flags & F.IORESOURCE_PREFETCH
            if not res.flags & F.IORESOURCE_PREFETCH and resource_size(res) >> 32:
                dev_warn(dev, "Memory resource size exceeds max for 32 bits")
    if not res_valid:
        dev_warn(dev, "non-prefetchable memory resource required")
    return 0


class pci_config_window:  # noqa: N801 - the kernel's name
    def __init__(self, res: Resource, busr: Resource, win: Any) -> None:
        self.res = res
        self.busr = busr
        self.win = win


def _ecam_release(dev: Any, cfg: pci_config_window) -> None:
    k = dev.kernel or current_kernel()
    if cfg.win is not None:
        k.iounmap(cfg.win)
    if cfg.res.parent is not None:
        from ..kernel.resource import release_resource

        release_resource(cfg.res)


def pci_ecam_create(dev: platform_device, cfgres: Resource, busr: Resource
                    ) -> pci_config_window | int:
    k = dev.kernel or current_kernel()
    bus_range = busr.end - busr.start + 1
    bsz = 1 << ECAM_BUS_SHIFT
    if bus_range * bsz > resource_size(cfgres):
        reduced = Resource(busr.start, busr.start + resource_size(cfgres) // bsz - 1, None,
                           F.IORESOURCE_BUS)
        dev_warn(dev, f"ECAM area {pR(cfgres)} can only accommodate {pR(reduced)} (reduced "
                      f"from {pR(busr)} desired)")
        busr = reduced
        bus_range = busr.end - busr.start + 1
    res = Resource(cfgres.start, cfgres.end, "PCI ECAM", F.IORESOURCE_MEM | F.IORESOURCE_BUSY)
    conflict = request_resource_conflict(k.iomem_resource, res)
    if conflict is not None:
        dev_err(dev, f"can't claim ECAM area {pR(res)}: address conflict with "
                     f"{conflict.name} {pR(conflict)}")
        return -EBUSY
    win = k.ioremap_np(cfgres.start, bus_range * bsz) or k.ioremap(cfgres.start,
                                                                    bus_range * bsz)
    if win is None:
        from ..kernel.resource import release_resource

        release_resource(res)
        return -ENOMEM
    cfg = pci_config_window(res, Resource(busr.start, busr.end, None, F.IORESOURCE_BUS), win)
    dev_info(dev, f"ECAM at {pR(res)} for {pR(cfg.busr)}")
    return cfg


def _of_map_irq(dev: platform_device) -> Any:
    """``of_irq_parse_and_map_pci``: INTx through the host node's ``interrupt-map``."""
    from ..kernel.irqdomain import irq_create_of_mapping
    from ..of.irq import OfIrq, OfPhandleArgs, irq_domain_translate, of_irq_parse_raw

    np = dev.of_node

    def map_irq(pdev: pci_dev, slot: int, pin: int) -> int:
        tree = of_root(dev.kernel)
        if tree is None:
            return 0
        addr = [(pdev.bus.number << 16) | (slot << 11), 0, 0]
        try:
            spec = of_irq_parse_raw(tree, addr, OfPhandleArgs(np, (pin,)))
        except Exception:
            return 0
        if spec is None:
            return 0
        got = irq_domain_translate(spec)
        if got is None:
            return 0
        return irq_create_of_mapping(OfIrq(spec.np, spec.args, got[0], got[1]), dev.kernel)
    return map_irq


def pci_host_common_probe(pdev: platform_device) -> int:
    np = pdev.of_node
    if np is None:
        return -ENODEV
    k = pdev.kernel or current_kernel()
    bridge = pci_host_bridge(k, PciEcamOps(k, 0), parent=pdev,
                             hw=getattr(k.machine, "pci_host", None))
    platform_set_drvdata(pdev, bridge)
    err = pci_parse_request_of_pci_ranges(pdev, bridge)
    if err:
        return err
    cfgres = Resource()
    if of_address_to_resource(np, 0, cfgres):
        dev_err(pdev, 'missing "reg" property')
        return -EINVAL
    busr = next((r for r, _ in bridge.windows if r.flags & F.IORESOURCE_BUS), None)
    if busr is None:
        return -ENODEV
    cfg = pci_ecam_create(pdev, cfgres, busr)
    if isinstance(cfg, int):
        return cfg
    k.devices.devres_add(pdev, _ecam_release, cfg, "gen_pci_unmap_cfg")
    bridge.ops = PciEcamOps(k, cfgres.start, cfg.busr.start, cfg.busr.end)
    bridge.map_irq = _of_map_irq(pdev)
    return pci_host_probe(bridge)


gen_pci_of_match = [OfDeviceId(compatible="pci-host-cam-generic"),
                    OfDeviceId(compatible="pci-host-ecam-generic")]


def gen_pci_driver() -> platform_driver:
    """A fresh ``struct platform_driver`` (the kernel forbids unbinding a host bridge:
    ``suppress_bind_attrs``)."""
    drv = platform_driver(DRV_NAME, pci_host_common_probe, of_match_table=gen_pci_of_match)
    drv.suppress_bind_attrs = True  # type: ignore[attr-defined]
    return drv


def gen_pci_init() -> int:
    """``builtin_platform_driver(gen_pci_driver)``: a device_initcall."""
    return platform_driver_register(gen_pci_driver())


__all__ = ["DRV_NAME", "gen_pci_driver", "gen_pci_init", "pci_ecam_create",
           "pci_host_common_probe"]
