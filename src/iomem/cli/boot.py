"""``iomem boot``: boot a board (built-in, a DTB or a DTS), load driver files, print the log.

A driver file is a module (see :mod:`iomem.kernel.module`): Python that
defines a ``platform_driver`` or ``amba_driver`` and ends with
``module_platform_driver(drv)`` / ``module_amba_driver(drv)``; it is loaded
after the boot, as ``insmod`` would, so it binds to every matching device
that no built-in driver took (``--no-builtin-drivers`` leaves them all).
"""

from __future__ import annotations

import click

from .common import board_option, resolve_board, user_errors

VIEWS = ("iomem", "ioports", "interrupts", "vmallocinfo", "devices", "unmodelled")


def devices_view(k) -> str:  # noqa: ANN001 - a Kernel
    """Every device with its bus and driver, in the order it was added (``ls -l
    /sys/bus/*/devices/*/driver`` in one list)."""
    lines = []
    for dev in k.devices.devices:
        bus = dev.bus.name if dev.bus is not None else "-"
        drv = dev.driver.name if dev.driver is not None else "-"
        note = " (deferred)" if dev in k.devices.deferred else ""
        lines.append(f"{bus:<9} {dev.name:<24} {drv}{note}")
    return "".join(line + "\n" for line in lines)


def unmodelled_view(board) -> str:  # noqa: ANN001 - a Board
    """What drivers touched in regions no model answers."""
    regions = getattr(board, "unmodelled", None)
    if regions is None:
        return ""
    out = []
    for path, model in regions().items():
        if model.accesses:
            out.append(f"{path} ({', '.join(model.node_compatible) or 'no compatible'}):")
            out += ["  " + line for line in model.summary().splitlines()[1:]]
    return "".join(line + "\n" for line in out) or "no unmodelled region was touched\n"


@click.command("boot")
@board_option()
@click.option("--driver", "drivers", multiple=True, metavar="FILE.py",
              help="a driver module to load after boot (repeatable)")
@click.option("--append", "cmdline", default="", metavar="ARGS",
              help="kernel command line, e.g. console=ttyAMA0")
@click.option("--no-builtin-drivers", "no_builtin", is_flag=True,
              help="boot without the built-in drivers (a device-tree board)")
@click.option("--show", "show", multiple=True, type=click.Choice(VIEWS), metavar="VIEW",
              help=f"also print a view after the log: {', '.join(VIEWS)} (repeatable)")
@user_errors
def boot_cmd(board: str, drivers: tuple[str, ...], cmdline: str, no_builtin: bool,
             show: tuple[str, ...]) -> None:
    """Boot a board and print the kernel log.

    NAME is a built-in board; FILE.dtb or FILE.dts is any device tree (a DTS
    goes through dtc).  Each --driver FILE.py is loaded after the boot as a
    module; its probe messages follow the boot's.
    """
    from ..boards import boot
    from ..kernel.irq import proc_interrupts
    from ..kernel.module import ModuleLoadError, module_insert, module_prepare

    try:  # run the files first: a model they define is there when the board is built
        mods = [module_prepare(path) for path in drivers]
    except ModuleLoadError as e:
        raise click.ClickException(f"insmod: {e}") from None
    b = resolve_board(board)
    if no_builtin:
        if not hasattr(b, "builtin_drivers"):
            raise click.BadParameter(f"{board} is not a device-tree board",
                                     param_hint="--no-builtin-drivers")
        b.builtin_drivers = False
    k = boot(b, cmdline=cmdline)
    for mod in mods:
        try:
            module_insert(mod, k)
        except ModuleLoadError as e:
            click.echo(k.dmesg(), nl=False)
            raise click.ClickException(f"insmod: {e}") from None
    click.echo(k.dmesg(), nl=False)
    for view in show:
        click.echo(f"\n-- {view}:")
        if view == "iomem":
            text = k.proc_iomem()
        elif view == "ioports":
            text = k.proc_ioports()
        elif view == "interrupts":
            text = proc_interrupts(k)
        elif view == "vmallocinfo":
            text = k.proc_vmallocinfo()
        elif view == "devices":
            text = devices_view(k)
        else:
            text = unmodelled_view(b)
        click.echo(text, nl=False)
