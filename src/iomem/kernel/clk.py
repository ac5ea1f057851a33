"""Clocks from the device tree (drivers/clk/clk.c, drivers/clk/clkdev.c,
drivers/clk/clk-fixed-rate.c, clk-fixed-factor.c, drivers/clk/clk-devres.c).

Only what MMIO drivers lean on: a device's ``clocks``/``clock-names`` resolve
to a provider registered for the clock node; ``fixed-clock`` and
``fixed-factor-clock`` nodes are registered at boot by ``of_clk_init`` (they
are ``CLK_OF_DECLARE``\\ d), other providers by their drivers through
:func:`of_clk_add_provider`.  A clock whose provider has not registered yet
is -EPROBE_DEFER, one the node does not name is -ENOENT, as ``clk_get``
returns them; the AMBA bus needs ``apb_pclk`` this way before it can read a
PrimeCell's ID registers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errno import EINVAL, ENOENT, EPROBE_DEFER, ErrPtr

if TYPE_CHECKING:
    from ..of import DeviceNode
    from .device import Device
    from .kernel import Kernel


@dataclass(eq=False)
class clk:  # noqa: N801 - the kernel's name
    """``struct clk``: a named clock with a rate and enable/prepare counts."""

    name: str
    rate: int
    node: Any = None
    parent: clk | None = None
    prepare_count: int = 0
    enable_count: int = 0
    consumers: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<clk {self.name} {self.rate} Hz>"


#: a provider's ``#clock-cells`` arguments -> the clock (``of_clk_src_*_get``)
ClkGetter = Callable[[tuple[int, ...]], "clk | ErrPtr"]


class ClkCore:
    """The registered clock providers of one kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.providers: dict[int, ClkGetter] = {}  # id(node) -> getter
        self.clocks: list[clk] = []


def clk_core(k: Kernel) -> ClkCore:
    got = k.__dict__.get("_clkcore")
    if got is None:
        got = k.__dict__["_clkcore"] = ClkCore(k)
    return got


def _kern(k: Kernel | None = None) -> Kernel:
    if k is not None:
        return k
    from .kernel import current_kernel

    return current_kernel()


def of_clk_add_provider(np: DeviceNode, get: ClkGetter, k: Kernel | None = None) -> int:
    """Register ``np`` as a clock provider; consumers waiting on it can now probe."""
    clk_core(_kern(k)).providers[id(np)] = get
    return 0


def of_clk_del_provider(np: DeviceNode, k: Kernel | None = None) -> None:
    clk_core(_kern(k)).providers.pop(id(np), None)


def of_clk_src_simple_get(c: clk) -> ClkGetter:
    """The getter of a provider with ``#clock-cells = <0>``."""
    return lambda args: c


def of_clk_src_onecell_get(clks: list[clk]) -> ClkGetter:
    def get(args: tuple[int, ...]) -> clk | ErrPtr:
        idx = args[0] if args else 0
        if not 0 <= idx < len(clks):
            return ErrPtr(-EINVAL)
        return clks[idx]
    return get


def clk_register_fixed_rate(name: str, rate: int, node: Any = None,
                            k: Kernel | None = None) -> clk:
    c = clk(name, rate, node)
    clk_core(_kern(k)).clocks.append(c)
    return c


def _output_name(np: DeviceNode) -> str:
    return np.read_string("clock-output-names") or np.name


def of_fixed_clk_setup(np: DeviceNode, k: Kernel | None = None) -> int:
    """``CLK_OF_DECLARE(fixed_clk, "fixed-clock", of_fixed_clk_setup)``."""
    rate = np.read_u32("clock-frequency")
    if rate is None:
        return -EINVAL
    c = clk_register_fixed_rate(_output_name(np), rate, np, k)
    return of_clk_add_provider(np, of_clk_src_simple_get(c), k)


def of_fixed_factor_clk_setup(np: DeviceNode, k: Kernel | None = None) -> int:
    """``CLK_OF_DECLARE(fixed_factor_clk, "fixed-factor-clock", ...)``: parent * mult / div;
    a parent whose provider is not there yet leaves this one for later."""
    kk = _kern(k)
    mult, div = np.read_u32("clock-mult"), np.read_u32("clock-div")
    if not mult or not div:
        return -EINVAL
    parent = of_clk_get(np, 0, kk)
    if isinstance(parent, ErrPtr):
        return parent.err
    c = clk(_output_name(np), parent.rate * mult // div, np, parent)
    clk_core(kk).clocks.append(c)
    return of_clk_add_provider(np, of_clk_src_simple_get(c), kk)


#: CLK_OF_DECLARE table: compatible -> setup
CLK_OF_TABLE: dict[str, Callable[..., int]] = {
    "fixed-clock": of_fixed_clk_setup,
    "fixed-factor-clock": of_fixed_factor_clk_setup,
}


def of_clk_init(tree: Any, k: Kernel | None = None) -> list[DeviceNode]:
    """Set up every available node of the CLK_OF_DECLARE table, retrying the ones
    whose parents were not ready (drivers/clk/clk.c ``of_clk_init``)."""
    kk = _kern(k)
    pending = [n for n in tree.nodes()
               if n.is_available() and any(n.is_compatible(c) for c in CLK_OF_TABLE)]
    done: list[DeviceNode] = []
    progress = True
    while pending and progress:
        progress = False
        for np in list(pending):
            setup = next(CLK_OF_TABLE[c] for c in np.compatible if c in CLK_OF_TABLE)
            if setup(np, kk) != -EPROBE_DEFER:
                pending.remove(np)
                done.append(np)
                progress = True
    return done


# -- consumers ----------------------------------------------------------------------------

def of_clk_get(np: DeviceNode, index: int, k: Kernel | None = None) -> clk | ErrPtr:
    """Clock ``index`` of ``np``'s ``clocks`` list."""
    from .of import of_parse_phandle_with_args

    kk = _kern(k)
    if not np.has_property("clocks"):
        return ErrPtr(-ENOENT)
    spec = of_parse_phandle_with_args(np, "clocks", "#clock-cells", index, kk)
    if spec is None:
        return ErrPtr(-ENOENT if index else -EINVAL)
    provider, args = spec
    get = clk_core(kk).providers.get(id(provider))
    if get is None:
        return ErrPtr(-EPROBE_DEFER)
    return get(tuple(args))


def of_clk_get_by_name(np: DeviceNode, name: str | None, k: Kernel | None = None
                       ) -> clk | ErrPtr:
    index = 0 if name is None else np.match_string("clock-names", name)
    if index < 0:
        return ErrPtr(-ENOENT)
    return of_clk_get(np, index, k)


def of_clk_get_parent_count(np: DeviceNode) -> int:
    from .of import of_count_phandle_with_args

    return max(of_count_phandle_with_args(np, "clocks", "#clock-cells"), 0)


def clk_get(dev: Device | None, con_id: str | None) -> clk | ErrPtr:
    """The device's clock named ``con_id`` (the first one for None)."""
    np = getattr(dev, "of_node", None) if dev is not None else None
    if np is None or not hasattr(np, "has_property"):
        return ErrPtr(-ENOENT)
    c = of_clk_get_by_name(np, con_id, getattr(dev, "kernel", None))
    if isinstance(c, ErrPtr) and c.err == -EINVAL:
        return ErrPtr(-ENOENT)
    return c


def clk_put(c: clk | ErrPtr | None) -> None:
    """Nothing is reference counted here."""


def clk_prepare(c: clk | None) -> int:
    if isinstance(c, clk):
        c.prepare_count += 1
    return 0


def clk_unprepare(c: clk | None) -> None:
    if isinstance(c, clk) and c.prepare_count:
        c.prepare_count -= 1


def clk_enable(c: clk | None) -> int:
    if isinstance(c, clk):
        if c.prepare_count == 0:
            _kern().WARN(f"Enabling unprepared {c.name}", "drivers/clk/clk.c",
                         "clk_core_enable", once=True)
        c.enable_count += 1
    return 0


def clk_disable(c: clk | None) -> None:
    if isinstance(c, clk):
        if c.enable_count == 0:
            _kern().WARN(f"{c.name} already disabled", "drivers/clk/clk.c",
                         "clk_core_disable", once=True)
            return
        c.enable_count -= 1


def clk_prepare_enable(c: clk | None) -> int:
    ret = clk_prepare(c)
    return ret or clk_enable(c)


def clk_disable_unprepare(c: clk | None) -> None:
    clk_disable(c)
    clk_unprepare(c)


def clk_get_rate(c: clk | None) -> int:
    return c.rate if isinstance(c, clk) else 0


def _devm_clk_release(dev: Device, data: Any) -> None:
    c, enabled = data
    if enabled:
        clk_disable_unprepare(c)
    clk_put(c)


def _devm_get(dev: Device, con_id: str | None, enable: bool, optional: bool
              ) -> clk | ErrPtr | None:
    c = clk_get(dev, con_id)
    if isinstance(c, ErrPtr):
        if optional and c.err == -ENOENT:
            return None
        return c
    if enable:
        ret = clk_prepare_enable(c)
        if ret:
            return ErrPtr(ret)
    k = dev.kernel or _kern()
    k.devices.devres_add(dev, _devm_clk_release, (c, enable), "devm_clk_release")
    return c


def devm_clk_get(dev: Device, con_id: str | None) -> clk | ErrPtr:
    """``clk_get`` put back when the driver unbinds."""
    return _devm_get(dev, con_id, False, False)  # type: ignore[return-value]


def devm_clk_get_optional(dev: Device, con_id: str | None) -> clk | ErrPtr | None:
    return _devm_get(dev, con_id, False, True)


def devm_clk_get_enabled(dev: Device, con_id: str | None) -> clk | ErrPtr:
    """Get, prepare and enable; disabled and put back when the driver unbinds."""
    return _devm_get(dev, con_id, True, False)  # type: ignore[return-value]


__all__ = ["CLK_OF_TABLE", "ClkCore", "clk", "clk_core", "clk_disable",
           "clk_disable_unprepare", "clk_enable", "clk_get", "clk_get_rate", "clk_prepare",
           "clk_prepare_enable", "clk_put", "clk_register_fixed_rate", "clk_unprepare",
           "devm_clk_get", "devm_clk_get_enabled", "devm_clk_get_optional", "of_clk_add_provider",
           "of_clk_del_provider", "of_clk_get", "of_clk_get_by_name",
           "of_clk_get_parent_count", "of_clk_init", "of_clk_src_onecell_get",
           "of_clk_src_simple_get", "of_fixed_clk_setup", "of_fixed_factor_clk_setup"]
