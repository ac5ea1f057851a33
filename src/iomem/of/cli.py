"""``iomem dt FILE``: what a device tree turns into when Linux boots it.

Lists the devices the kernel's populate walk creates (in creation order, with
their kernel names), the disabled ones it skips, RAM and reserved memory, and
for each device whether iomem has a model of the hardware and a driver for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import click

from .address import OfResource, of_resources
from .base import DeviceNode, DeviceTree, DtError
from .fdt import BUILTIN_BOARDS, load
from .irq import OfIrq, of_irqs
from .platform import (
    AMBA,
    PLATFORM,
    PopulateState,
    of_account_nodes,
    of_device_make_bus_id,
    of_memory_ranges,
    of_platform_default_populate_init,
    of_reserved_memory,
)


def _lookup(module: str, attr: str) -> Callable[[list[str]], Any] | None:
    """A registry function of another package, if that package provides it."""
    try:
        return getattr(importlib.import_module(module), attr, None)
    except Exception:  # a missing or broken package only means "unknown"
        return None


def _label(found: Any) -> str:
    if found is None:
        return "-"
    if isinstance(found, type):
        return found.__name__
    for attr in ("name", "__name__"):
        value = getattr(found, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(found).__name__


def _regs(resources: Sequence[OfResource]) -> str:
    return ", ".join(f"{r.start:08x}-{r.end:08x}" for r in resources) or "-"


def _irqs(irqs: Sequence[OfIrq]) -> str:
    """hwirq numbers and trigger type, the type said once when all share it."""
    if not irqs:
        return "-"
    if len({i.type for i in irqs}) == 1:
        return ",".join(str(i.hwirq) for i in irqs) + " " + irqs[0].type_name
    return ", ".join(str(i) for i in irqs)


def _rows(tree: DeviceTree, state: PopulateState) -> list[list[str]]:
    model_for = _lookup("iomem.devices", "model_for_compatible")
    driver_for = _lookup("iomem.drivers", "driver_for_compatible")
    created = {d.node: d for d in state.devices}
    rows = []
    for node, reason in state.reasons.items():
        dev = created.get(node)
        if dev is None and not reason.startswith("status"):
            continue
        compat = node.compatible
        model = driver = "-"
        if model_for is not None:
            try:
                model = _label(model_for(compat))
            except Exception:
                model = "-"
        if driver_for is not None:
            try:
                driver = _label(driver_for(compat))
            except Exception:
                driver = "-"
        if dev is not None:
            rows.append([dev.name, dev.bus, compat[0] if compat else "-", _regs(dev.resources),
                         _irqs(dev.irqs), node.status or "okay", model, driver])
        else:
            bus = AMBA if node.is_compatible("arm,primecell") else PLATFORM
            rows.append([of_device_make_bus_id(node), bus, compat[0] if compat else "-",
                         _regs(of_resources(node)), _irqs(of_irqs(tree, node)),
                         node.status or "?", model, driver])
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*r).rstrip() for r in [header, *rows]]


def _node_label(node: DeviceNode) -> str:
    return node.path


def render(tree: DeviceTree, show_all: bool = False) -> str:
    """The summary ``iomem dt`` prints."""
    state = PopulateState()
    devices = of_platform_default_populate_init(tree, state=state)
    nodes = list(tree.nodes())
    out = [f"{tree.source}: {tree.model or '-'} (compatible: "
           f"{', '.join(tree.compatible) or '-'}), {len(nodes)} nodes"]
    out.append("")
    out.append("Memory:")
    mem = of_memory_ranges(tree)
    for r in mem:
        out.append(f"  {r.base:08x}-{r.end:08x} : System RAM  ({r.node.full_name})")
    if not mem:
        out.append("  none")
    reserved = of_reserved_memory(tree)
    if reserved:
        out.append("Reserved memory:")
        for rv in reserved:
            where = f"{rv.base:08x}-{rv.end:08x}" if rv.base is not None else \
                f"dynamic, size 0x{rv.size:x}"
            flags = [f for f, on in (("no-map", rv.no_map), ("reusable", rv.reusable)) if on]
            label = rv.name or "/memreserve/"
            out.append(f"  {where} : {label}" + (f"  [{', '.join(flags)}]" if flags else ""))
    out.append("")
    rows = _rows(tree, state)
    header = ["DEVICE", "BUS", "COMPATIBLE", "REG", "IRQ", "STATUS", "MODEL", "DRIVER"]
    out.append("Devices (in the order Linux creates them):")
    out += ["  " + line for line in _table(header, rows)]
    n_plat = sum(d.bus == PLATFORM for d in devices)
    n_amba = len(devices) - n_plat
    n_disabled = len(rows) - len(devices)
    n_model = sum(r[6] != "-" for r in rows if r[5] in ("okay", "ok"))
    n_driver = sum(r[7] != "-" for r in rows if r[5] in ("okay", "ok"))
    out.append("")
    out.append(f"{len(devices)} devices ({n_plat} platform, {n_amba} amba), "
               f"{n_disabled} disabled; {n_model} with a model, {n_driver} with a driver")
    if show_all:
        out.append("")
        out.append("Every node:")
        accounted = of_account_nodes(tree, state)
        width = max(len(_node_label(n)) for n in accounted)
        for node, why in accounted.items():
            out.append(f"  {_node_label(node):<{width}}  {why}")
    if tree.warnings:
        out.append("")
        out.append("dtc warnings:")
        out += ["  " + w for w in tree.warnings]
    return "\n".join(out)


@click.command("dt")
@click.argument("file", metavar="FILE")
@click.option("-a", "--all", "show_all", is_flag=True,
              help="also list every node and why it is or is not a device")
@click.option("-I", "--include", "include_dirs", multiple=True, metavar="DIR",
              help="include directory for a DTS (for /include/ and #include)")
def dt(file: str, show_all: bool, include_dirs: tuple[str, ...]) -> None:
    """Summarise the devices a device tree describes.

    FILE is a DTB, a DTS (compiled with dtc) or a built-in board name
    ({boards}).  Shows each device's kernel name, compatible, registers,
    interrupts (hwirq and trigger), status, and whether iomem has a model and
    a driver for it.
    """
    try:
        tree = load(file, include_dirs)
        text = render(tree, show_all)
    except DtError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(text)


dt.help = (dt.help or "").replace("{boards}", ", ".join(BUILTIN_BOARDS))
