"""``iomem demo``: the guided tour of the MMIO life cycle."""

from __future__ import annotations

import click

from .common import user_errors


@click.command("demo")
@click.option("--board", default="virt", show_default=True, help="board to run the tour on")
@user_errors
def demo_cmd(board: str) -> None:
    """Walk resource -> request -> ioremap -> readl/writel -> iounmap -> release."""
    from ..demo import run_demo
    from .common import resolve_board

    run_demo(click.echo, resolve_board(board))
