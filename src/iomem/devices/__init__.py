"""Device models: register files that behave like the hardware.

Boards pick a model for a device-tree node with
:func:`model_for_compatible`, which walks the node's ``compatible`` list
most-specific first, as the kernel's OF matching does.  Generic entries that
name a bus rather than a device (``arm,primecell``) never select a model on
their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import MmioDevice

#: compatibles that name a bus or a class, not a device a model could stand for
GENERIC_COMPATIBLES = frozenset({"arm,primecell", "arm,amba-bus", "simple-bus"})

_REGISTRY: dict[str, type[MmioDevice]] = {}


def register_model(cls: type[MmioDevice], *, replace: bool = False) -> type[MmioDevice]:
    """Register ``cls`` under each of its ``compatible`` strings (usable as a decorator)."""
    keys = [c for c in cls.compatible if c not in GENERIC_COMPATIBLES]
    if not keys:
        raise ValueError(f"{cls.__name__} has no specific compatible string to register")
    for c in keys:
        old = _REGISTRY.get(c)
        if old is not None and old is not cls and not replace:
            raise ValueError(f"compatible {c!r} is already served by {old.__name__}")
    for c in keys:
        _REGISTRY[c] = cls
    return cls


def model_for_compatible(compat: str | Iterable[str]) -> type[MmioDevice] | None:
    """The model class for the first entry of ``compat`` that has one, or None."""
    if isinstance(compat, str):
        compat = [compat]
    for c in compat:
        if c in GENERIC_COMPATIBLES:
            continue
        cls = _REGISTRY.get(c)
        if cls is not None:
            return cls
    return None


def model_from_dt(compat: str | Iterable[str], props: Mapping[str, Any] | None = None, *,
                  name: str | None = None, size: int | None = None) -> MmioDevice | None:
    """A model instance for a device-tree node, or None when no model serves it.

    ``props`` are the node's properties (ints, cell lists or raw bytes; see
    :mod:`iomem.devices.dtprops`) and ``size`` the size of its first ``reg``
    entry; each model reads what it understands (``reg-shift``,
    ``clock-frequency``, ``big-endian``, ``arm,primecell-periphid``, ...).
    """
    cls = model_for_compatible(compat)
    if cls is None:
        return None
    make = getattr(cls, "from_dt", None)
    if make is None:
        return cls(name)
    return make(props or {}, name=name, size=size)


def registered_models() -> dict[str, type[MmioDevice]]:
    """compatible string -> model class, for listings."""
    return dict(_REGISTRY)


from .generic import Ram, Rom, Sram, Syscon, Unmodelled  # noqa: E402
from .ns16550 import NS16550  # noqa: E402
from .pl011 import PL011  # noqa: E402
from .pl031 import PL031  # noqa: E402
from .pl061 import PL061  # noqa: E402
from .sp804 import SP804  # noqa: E402

for _cls in (PL011, PL061, PL031, SP804, NS16550, Syscon, Sram):
    register_model(_cls)

__all__ = ["MmioDevice", "register_model", "model_for_compatible", "model_from_dt",
           "registered_models",
           "GENERIC_COMPATIBLES", "PL011", "PL061", "PL031", "SP804", "NS16550", "Syscon",
           "Ram", "Rom", "Sram", "Unmodelled"]
