"""The simulated Linux kernel: one module per kernel file it mirrors.

Driver code imports from here (or from :mod:`iomem`) the kernel's names:
the resource API, ioremap and the accessors, devres, the driver core and
the platform bus, errno values and ERR_PTR helpers.
"""

from . import errno as _errno
from .api import (
    inb,
    inl,
    insert_resource,
    inw,
    ioport_map,
    ioport_unmap,
    ioremap,
    ioremap_cache,
    ioremap_np,
    ioremap_uc,
    ioremap_wc,
    ioremap_wt,
    iounmap,
    mdelay,
    msleep,
    ndelay,
    outb,
    outl,
    outw,
    pr_debug,
    pr_err,
    pr_info,
    pr_notice,
    pr_warn,
    printk,
    release_mem_region,
    release_region,
    release_resource,
    remove_resource,
    request_mem_region,
    request_mem_region_exclusive,
    request_mem_region_muxed,
    request_region,
    request_resource,
    udelay,
)
from .device import (
    Device,
    DeviceDriver,
    OfDeviceId,
    dev_dbg,
    dev_err,
    dev_err_probe,
    dev_get_drvdata,
    dev_info,
    dev_name,
    dev_notice,
    dev_set_drvdata,
    dev_warn,
    of_device_get_match_data,
    of_device_id,
    of_match_device,
)
from .devres import (
    devm_add_action,
    devm_add_action_or_reset,
    devm_ioremap,
    devm_ioremap_np,
    devm_ioremap_resource,
    devm_ioremap_resource_wc,
    devm_ioremap_uc,
    devm_ioremap_wc,
    devm_iounmap,
    devm_release_mem_region,
    devm_release_region,
    devm_release_resource,
    devm_request_mem_region,
    devm_request_region,
    devm_request_resource,
)
from .errno import ERR_PTR, IS_ERR, IS_ERR_OR_NULL, PTR_ERR, PTR_ERR_OR_ZERO, ErrPtr
from .io import ACCESSORS, BARRIERS, IoMem, KernelBuildError, KernelOops, SparseError
from .io import _generated as _accessors
from .ioport import *  # noqa: F403 - the IORESOURCE_* flags
from .kernel import Kernel, current_kernel
from .platform import (
    PLATFORM_DEVID_AUTO,
    PLATFORM_DEVID_NONE,
    devm_platform_get_and_ioremap_resource,
    devm_platform_ioremap_resource,
    devm_platform_ioremap_resource_byname,
    platform_device,
    platform_device_register,
    platform_device_unregister,
    platform_driver,
    platform_driver_register,
    platform_driver_unregister,
    platform_get_drvdata,
    platform_get_irq,
    platform_get_irq_byname,
    platform_get_irq_optional,
    platform_get_resource,
    platform_get_resource_byname,
    platform_irq_count,
    platform_set_drvdata,
)
from .resource import (
    DEFINE_RES_IO,
    DEFINE_RES_IRQ,
    DEFINE_RES_MEM,
    Resource,
    resource_size,
    resource_type,
)
from .vsprintf import pa, pR

globals().update(_accessors)
globals().update({k: v for k, v in vars(_errno).items() if k.startswith("E") and k.isupper()})
del _accessors

import types as _types  # noqa: E402

__all__ = [_n for _n, _v in globals().items()
           if (not _n.startswith("_") or _n.startswith("__raw_"))
           and not isinstance(_v, _types.ModuleType)]
