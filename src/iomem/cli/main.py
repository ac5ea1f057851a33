"""The ``iomem`` command line: views of a simulated kernel, the demo, the VM lab."""

from __future__ import annotations

import importlib

import click

# Command groups that live with their component: "module:attribute".
_SUBCOMMANDS: list[str] = ["iomem.of.cli:dt", "iomem.vm.cli:vm",
                           "iomem.user.cli:read_cmd", "iomem.user.cli:write_cmd",
                           "iomem.user.cli:dump_cmd", "iomem.user.cli:set_cmd",
                           "iomem.user.cli:clear_cmd", "iomem.user.cli:poll_cmd",
                           "iomem.check.cli:run",
                           "iomem.cli.lspci:lspci_cmd", "iomem.cli.lspci:pci_sysfs_cmd",
                           "iomem.cli.lspci:interrupts_cmd", "iomem.cli.boot:boot_cmd",
                           "iomem.trace.cli:trace"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="iomem")
def cli() -> None:
    """Linux memory-mapped I/O in Python."""


def _register_builtin() -> None:
    from . import demo, views

    for cmd in (*views.COMMANDS, demo.demo_cmd):
        cli.add_command(cmd)


_register_builtin()

for _spec in _SUBCOMMANDS:
    _mod, _attr = _spec.split(":")
    cli.add_command(getattr(importlib.import_module(_mod), _attr))


def main() -> None:
    cli(prog_name="iomem")
