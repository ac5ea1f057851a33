"""Fixtures for the device-tree board tests: a DTS compiler and a small SoC skeleton."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from iomem.boards.dt import DtBoard, dt_board
from iomem.kernel import Kernel
from iomem.of import DtError, load_dts_string
from iomem.of.fdt import find_dtc

#: RAM, a GIC (the interrupt parent), a 24 MHz fixed clock: what every board below has
SKELETON = """
/ {
    #address-cells = <1>;
    #size-cells = <1>;
    model = "test board";
    compatible = "iomem,test";
    interrupt-parent = <&gic>;
    memory@40000000 { device_type = "memory"; reg = <0x40000000 0x1000000>; };
    gic: interrupt-controller@8000000 {
        compatible = "arm,cortex-a15-gic"; interrupt-controller;
        #interrupt-cells = <3>; #address-cells = <0>;
        reg = <0x8000000 0x1000>, <0x8010000 0x1000>;
    };
    clk: apb-pclk {
        compatible = "fixed-clock"; #clock-cells = <0>; clock-frequency = <24000000>;
    };
    %s
};
"""


@pytest.fixture(scope="session")
def dtc() -> str:
    try:
        return find_dtc()
    except DtError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def board(dtc: str) -> Callable[..., DtBoard]:
    """``board(nodes, **dt_board_options)``: a board from nodes put in the skeleton."""
    def make(nodes: str, **options: object) -> DtBoard:
        return dt_board(load_dts_string(SKELETON % nodes), "test", **options)
    return make


@pytest.fixture
def boot(board: Callable[..., DtBoard]) -> Callable[..., Kernel]:
    """``boot(nodes, **options)``: boot the board, return the kernel."""
    import iomem

    def run(nodes: str, cmdline: str = "", **options: object) -> Kernel:
        return iomem.boot(board(nodes, **options), cmdline=cmdline)
    return run
