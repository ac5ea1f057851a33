"""The Acme board again, described in Python, with the widget model from widget.py.

Run it: ``python examples/dt_board/acme_board.py``.  It registers the board as
``acme`` (so ``iomem.boot("acme")`` works in this process), boots it, loads the
widget driver as a module, rings the widget's doorbell and prints what the
kernel shows.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import iomem
from iomem.boards import register_board
from iomem.boards.dt import DtBoard, SocBoard
from iomem.kernel.irq import proc_interrupts
from iomem.kernel.module import load_module

HERE = Path(__file__).parent
Widget = runpy.run_path(str(HERE / "widget.py"))["Widget"]


@register_board("acme")
def acme_board() -> DtBoard:
    soc = SocBoard("acme", model="Acme widget board", ram=(0x40000000, 256 << 20))
    soc.device("pl011", "arm,pl011", 0x09000000, 0x1000, irq=1, stdout=True)
    soc.device("widget", "acme,widget", 0x0A000000, 0x100, irq=5, model=Widget())
    return soc.board()


def main() -> None:
    k = iomem.boot("acme")
    mod = load_module(HERE / "widget.py", k)
    pdev = k.devices.find_device("a000000.widget")
    with k:
        jobs = mod.namespace["widget_kick"](pdev)
    print(k.dmesg(), end="")
    print(f"jobs completed by interrupt: {jobs}")
    print(k.proc_iomem(), end="")
    print(proc_interrupts(k), end="")


if __name__ == "__main__":
    main()
