"""``iomem lspci``, ``iomem pci-sysfs`` and ``iomem interrupts``: the PCI functions of a
simulated board as pciutils' lspci and the kernel's sysfs files show them, and its
/proc/interrupts."""

from __future__ import annotations

import sys

import click

from .common import board_option, boot_board, user_errors

#: drivers ``--driver`` can load after boot (name -> module_init)
_DRIVERS = {"edu": "iomem.drivers.edu:edu_init"}


def _boot(board: str, drivers: tuple[str, ...]):
    import importlib

    k = boot_board(board)
    for name in drivers:
        spec = _DRIVERS.get(name)
        if spec is None:
            raise click.BadParameter(f"unknown driver {name!r}; known: {', '.join(_DRIVERS)}",
                                     param_hint="--driver")
        mod, attr = spec.split(":")
        with k:
            getattr(importlib.import_module(mod), attr)()
    return k


@click.command("lspci", context_settings={"ignore_unknown_options": False})
@board_option(default="pc")
@click.option("-v", "verbose", count=True, help="be verbose (-vv, -vvv for more)")
@click.option("-n", "numeric", count=True, help="numeric IDs (-nn: names and numbers)")
@click.option("-x", "hexdump", count=True, help="hex dump of config space (-xxx: 256 bytes, "
                                                "-xxxx: 4096)")
@click.option("-k", "kernel", is_flag=True, help="show the kernel driver of each device")
@click.option("-D", "domains", is_flag=True, help="always show domain numbers")
@click.option("-s", "slot", metavar="[[[[DOMAIN]:]BUS]:][SLOT][.[FUNC]]",
              help="only the devices in these slots")
@click.option("-d", "ident", metavar="[VENDOR]:[DEVICE]", help="only devices with these IDs")
@click.option("-i", "ids", metavar="FILE", help="pci.ids to use instead of the system's")
@click.option("--driver", "drivers", multiple=True, metavar="NAME",
              help="load a driver after boot (edu)")
@click.option("--sysfs", metavar="DIR", help="read a sysfs bus/pci tree instead of a board "
                                            "(e.g. /sys/bus/pci)")
@user_errors
def lspci_cmd(board: str, verbose: int, numeric: int, hexdump: int, kernel: bool,
              domains: bool, slot: str | None, ident: str | None, ids: str | None,
              drivers: tuple[str, ...], sysfs: str | None) -> None:
    """List the PCI functions as pciutils' lspci prints them."""
    from ..pci.lspci import Lspci, devices_from_kernel, devices_from_sysfs

    if sysfs:
        devs = devices_from_sysfs(sysfs)
    else:
        devs = devices_from_kernel(_boot(board, drivers))
    out = Lspci(verbose, numeric, hexdump, kernel, domains, ids).render(devs, slot, ident)
    click.echo(out, nl=False)


@click.command("pci-sysfs")
@board_option(default="pc")
@click.option("--driver", "drivers", multiple=True, metavar="NAME",
              help="load a driver after boot (edu)")
@click.argument("device")
@click.argument("attribute", default="resource")
@user_errors
def pci_sysfs_cmd(board: str, drivers: tuple[str, ...], device: str, attribute: str) -> None:
    """Print /sys/bus/pci/devices/DEVICE/ATTRIBUTE of a simulated board
    (resource, config, vendor, device, class, irq, enable, modalias, ...)."""
    from ..kernel.pci import pci_core
    from ..kernel.pci_sysfs import device_attributes

    k = _boot(board, drivers)
    dev = pci_core(k).find(device)
    if dev is None:
        names = ", ".join(d.name for d in pci_core(k).devices())
        raise click.ClickException(f"no PCI device {device!r} on {board}; there are: {names}")
    attrs = device_attributes(dev)
    if attribute not in attrs:
        raise click.ClickException(f"no attribute {attribute!r}; there are: "
                                   f"{', '.join(sorted(attrs))}")
    value = attrs[attribute]
    if isinstance(value, bytes):
        sys.stdout.buffer.write(value)
        sys.stdout.buffer.flush()
    else:
        click.echo(value, nl=False)


@click.command("interrupts")
@board_option(default="pc")
@click.option("--driver", "drivers", multiple=True, metavar="NAME",
              help="load a driver after boot (edu)")
@user_errors
def interrupts_cmd(board: str, drivers: tuple[str, ...]) -> None:
    """Print /proc/interrupts (the irqs with a handler) of a simulated board."""
    from ..kernel.irq import proc_interrupts

    click.echo(proc_interrupts(_boot(board, drivers)), nl=False)


COMMANDS = [lspci_cmd, pci_sysfs_cmd, interrupts_cmd]
