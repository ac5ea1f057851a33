"""Reading the few device-tree properties the models take (reg-shift, clock-frequency...).

Property values may come as a loader hands them over: an int, a list of
32-bit cells, the raw big-endian bytes of the property, or True/empty bytes
for a boolean property such as ``big-endian``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Props = Mapping[str, Any]


def prop_int(props: Props, key: str, default: int | None = None) -> int | None:
    """The first cell of property ``key`` as an int, or ``default`` if absent."""
    v = props.get(key)
    if v is None:
        return default
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, (list, tuple)):
        return int(v[0]) if v else default
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        if not b:
            return default
        if len(b) % 4:
            raise ValueError(f"property {key}: {len(b)} bytes is not a list of 32-bit cells")
        return int.from_bytes(b[:4], "big")
    raise TypeError(f"property {key}: cannot read {type(v).__name__} as a number")


def prop_bool(props: Props, key: str) -> bool:
    """A boolean property: present (and not False) means true."""
    return key in props and props[key] is not False
