"""The guided tour: the whole MMIO life cycle on the simulated ``virt`` board.

The PL011 is an AMBA device there, as on the real machine: the bus inserted
its resource and ``uart-pl011`` claimed it at boot, so the tour unbinds the
driver first and binds it again at the end.

Each step is the code a driver runs (the same calls, in the same order as
its C twin) followed by what the kernel shows afterwards: ``/proc/iomem``,
``/proc/vmallocinfo``, the page-table entry, dmesg, the UART's output.
"""

from __future__ import annotations

from collections.abc import Callable

from . import kernel as K
from .boards import Board, boot
from .kernel import (
    IS_ERR,
    PTR_ERR,
    KernelOops,
    SparseError,
    devm_ioremap_resource,
    ioremap,
    iounmap,
    readl,
    release_mem_region,
    request_mem_region,
    resource_size,
    writel,
)
from .kernel.amba import (
    amba_device,
    amba_driver,
    amba_driver_register,
    amba_driver_unregister,
    amba_id,
)

UARTDR = 0x00
UARTFR = 0x18
FR_TXFF = 1 << 5
FR_BUSY = 1 << 3


def run_demo(out: Callable[[str], None] = print, board: str | Board = "virt") -> int:
    """Walk resource -> request -> ioremap -> readl/writel -> iounmap -> release."""
    k = boot(board)
    board = board if isinstance(board, str) else board.name
    uart = k.machine.memory.region_at(0x09000000).ops
    log_mark = 0

    def step(title: str) -> None:
        out("")
        out(f"== {title}")

    def show(label: str, text: str) -> None:
        out(f"-- {label}:")
        for line in text.rstrip("\n").splitlines() or ["(empty)"]:
            out(f"   {line}")

    def new_dmesg() -> None:
        nonlocal log_mark
        text = k.log.dmesg(log_mark)
        log_mark = len(k.log)
        if text:
            show("dmesg", text)

    with k:
        step(f"1. Boot the '{board}' board: the AMBA bus inserted each PrimeCell's resource, "
             "the drivers claimed theirs")
        show("/proc/iomem", k.proc_iomem())
        new_dmesg()

        step("2. Where the registers are: the AMBA device's resource")
        adev = k.devices.find_device("9000000.pl011")
        res = adev.res
        out(f"   res = &adev->res  ->  {res} '{res.name}' (on bus {adev.bus.name}, "
            f"driver {adev.driver.name if adev.driver else 'none'})")

        step("3. Unbind the UART's driver (echo 9000000.pl011 > .../uart-pl011/unbind), "
             "then claim: request_mem_region(res->start, resource_size(res), \"demo-uart\")")
        k.devices.unbind(adev.name)
        claimed = request_mem_region(res.start, resource_size(res), "demo-uart")
        out(f"   -> {claimed}  (nested inside the bus's {res.name})")
        show("/proc/iomem", k.proc_iomem())

        step("4. A second claim of the same range fails (the region is BUSY)")
        again = request_mem_region(res.start + 0x18, 4, "other-driver")
        out(f"   request_mem_region(0x{res.start + 0x18:x}, 4, \"other-driver\") -> {again}")

        step("5. Map them: base = ioremap(res->start, resource_size(res))")
        base = ioremap(res.start, resource_size(res))
        out(f"   base = {base}")
        out(f"   page-table entry: {k.pte(base).describe()}")
        show("/proc/vmallocinfo", k.proc_vmallocinfo())

        step("6. Talk to the device: writel() to UARTDR, readl() of UARTFR")
        uart.console.clear()
        for ch in b"Hello from iomem!\n":
            _poll_clear(base + UARTFR, FR_TXFF)
            writel(ch, base + UARTDR)
        _poll_clear(base + UARTFR, FR_BUSY)
        out(f"   readl(base + UARTFR) = 0x{readl(base + UARTFR):08x}")
        out(f"   the UART sent: {bytes(uart.console).decode(errors='replace')!r}")

        step("7. A physical address is not a pointer: readl(0x09000018)")
        try:
            readl(res.start + UARTFR)
        except SparseError as e:
            for line in str(e).splitlines():
                out(f"   {line}")

        step("8. Unmap: iounmap(base)")
        iounmap(base)
        show("/proc/vmallocinfo", k.proc_vmallocinfo())
        out("   ...and a use after iounmap is a page fault:")
        try:
            readl(base + UARTFR)
        except KernelOops as e:
            out(f"   KernelOops: {str(e).splitlines()[0]}")
        new_dmesg()

        step("9. Release: release_mem_region(res->start, resource_size(res))")
        release_mem_region(res.start, resource_size(res))
        show("/proc/iomem", k.proc_iomem())
        out("   releasing it twice is a kernel warning:")
        release_mem_region(res.start, resource_size(res))
        new_dmesg()

        step("10. The managed way: an AMBA driver with devm_ioremap_resource()")

        def demo_probe(adev: amba_device, id: amba_id) -> int:
            base = devm_ioremap_resource(adev, adev.res)
            if IS_ERR(base):
                return PTR_ERR(base)
            K.dev_info(adev, f"registers at {base}, UARTFR=0x{readl(base + UARTFR):08x}")
            return 0

        # the PL011's PrimeCell ID is 0x00141011 on QEMU: part 0x011, ARM (0x41), r1
        drv = amba_driver("demo-pl011", probe=demo_probe,
                          id_table=[amba_id(0x00041011, 0x000FFFFF)])
        amba_driver_register(drv)
        show("/proc/iomem after probe", k.proc_iomem())
        show("/proc/vmallocinfo", k.proc_vmallocinfo())
        k.devices.unbind(adev.name)
        show("/proc/iomem after unbind (devres released it, last in first out)",
             k.proc_iomem())
        new_dmesg()
        amba_driver_unregister(drv)
        k.devices.bind("uart-pl011", adev.name)
        out("   (and uart-pl011 is bound again: echo 9000000.pl011 > .../uart-pl011/bind)")
        new_dmesg()
    out("")
    out("Next: 'iomem iomem', 'iomem vmallocinfo', 'iomem dmesg', 'iomem mtree --board virt'.")
    return 0


def _poll_clear(addr: K.IoMem, mask: int, tries: int = 100_000) -> None:
    """Wait for ``mask`` to clear in a status register, as a driver's bounded poll does."""
    for _ in range(tries):
        if not readl(addr) & mask:
            return
        K.udelay(1)
    raise TimeoutError(f"status bits 0x{mask:x} still set after {tries} polls")
