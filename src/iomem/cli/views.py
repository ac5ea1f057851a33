"""Views of a freshly booted simulated kernel: /proc files, dmesg, the memory map."""

from __future__ import annotations

import click

from .common import board_option, boot_board, user_errors


def _append_option(fn):
    return click.option("--append", "cmdline", default="", metavar="ARGS",
                        help="kernel command line, e.g. iomem=relaxed")(fn)


@click.command("iomem")
@board_option()
@_append_option
@click.option("--user", is_flag=True, help="as a reader without CAP_SYS_ADMIN (zeroed addresses)")
@user_errors
def iomem_cmd(board: str, cmdline: str, user: bool) -> None:
    """Print /proc/iomem."""
    click.echo(boot_board(board, cmdline).proc_iomem(privileged=not user), nl=False)


@click.command("ioports")
@board_option()
@_append_option
@click.option("--user", is_flag=True, help="as a reader without CAP_SYS_ADMIN (zeroed addresses)")
@user_errors
def ioports_cmd(board: str, cmdline: str, user: bool) -> None:
    """Print /proc/ioports."""
    click.echo(boot_board(board, cmdline).proc_ioports(privileged=not user), nl=False)


@click.command("vmallocinfo")
@board_option()
@_append_option
@user_errors
def vmallocinfo_cmd(board: str, cmdline: str) -> None:
    """Print the ioremap lines of /proc/vmallocinfo."""
    click.echo(boot_board(board, cmdline).proc_vmallocinfo(), nl=False)


@click.command("dmesg")
@board_option()
@_append_option
@user_errors
def dmesg_cmd(board: str, cmdline: str) -> None:
    """Print the kernel log of a boot."""
    click.echo(boot_board(board, cmdline).dmesg(), nl=False)


@click.command("mtree")
@board_option()
@click.option("-f", "flat", is_flag=True, help="the flattened view the bus decodes")
@user_errors
def mtree_cmd(board: str, flat: bool) -> None:
    """Print the physical memory map as QEMU's 'info mtree' does."""
    click.echo(boot_board(board).mtree(flat=flat), nl=False)


COMMANDS = [iomem_cmd, ioports_cmd, vmallocinfo_cmd, dmesg_cmd, mtree_cmd]
