"""The unflattened device tree: nodes, properties and the lookups drivers use.

Mirrors drivers/of/base.c and drivers/of/property.c: ``DeviceNode`` carries
what ``struct device_node`` carries (``name``, ``full_name`` = the last path
component with its unit address, the path, properties, parent, children,
phandle), and the helpers keep the kernel's rules (``of_device_is_available``
accepts only a missing status or "okay"/"ok"; ``of_device_is_compatible``
scores earlier entries higher).  Property values stay the raw big-endian bytes
of the blob; the typed readers decode them on demand.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

_INT_MAX = 0x7FFFFFFF


class DtError(ValueError):
    """A device tree that cannot be loaded or a property that cannot be read."""


@dataclass(eq=False)
class DeviceNode:
    """One node of the tree (``struct device_node``)."""

    full_name: str
    parent: DeviceNode | None = None
    properties: dict[str, bytes] = field(default_factory=dict)
    children: list[DeviceNode] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<DeviceNode {self.path}>"

    # -- identity ----------------------------------------------------------

    @property
    def name(self) -> str:
        """The node name without the unit address (what ``%pOFn`` prints).

        Old blobs may carry an explicit "name" property; the kernel prefers it.
        """
        value = self.properties.get("name")
        if value:
            return value.split(b"\0", 1)[0].decode("utf-8", "replace")
        return self.full_name.split("@", 1)[0] if self.parent is not None else ""

    @property
    def unit_address(self) -> str:
        """The text after '@' in the node name ('' when there is none)."""
        _, _, unit = self.full_name.partition("@")
        return unit

    @property
    def path(self) -> str:
        """The absolute path (what ``%pOF`` prints)."""
        if self.parent is None:
            return "/"
        parent = self.parent.path
        return (parent if parent != "/" else "") + "/" + self.full_name

    @property
    def phandle(self) -> int | None:
        for key in ("phandle", "linux,phandle"):
            value = self.properties.get(key)
            if value is not None and len(value) == 4:
                return struct.unpack(">I", value)[0]
        return None

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1

    # -- walking -----------------------------------------------------------

    def walk(self) -> Iterator[DeviceNode]:
        """This node and every descendant, pre-order, in blob order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def child(self, full_name: str) -> DeviceNode | None:
        """The child called ``full_name``; a name without '@' also matches 'name@unit'
        when it is unique, as ``of_get_child_by_name`` does by node name."""
        for c in self.children:
            if c.full_name == full_name:
                return c
        if "@" not in full_name:
            for c in self.children:
                if c.name == full_name:
                    return c
        return None

    # -- properties ----------------------------------------------------------

    def get_property(self, name: str) -> bytes | None:
        """The raw value, or None when the property is absent (``of_get_property``)."""
        return self.properties.get(name)

    def has_property(self, name: str) -> bool:
        return name in self.properties

    read_bool = has_property  # of_property_read_bool: presence is the value

    def read_u32_array(self, name: str) -> list[int] | None:
        """All cells of a property, or None when absent; a length that is not a
        multiple of 4 is an error (the kernel returns -EOVERFLOW/-ENODATA)."""
        value = self.properties.get(name)
        if value is None:
            return None
        if len(value) % 4:
            raise DtError(f"{self.path}: property '{name}' is {len(value)} bytes, "
                          "not a whole number of 32-bit cells")
        return list(struct.unpack(f">{len(value) // 4}I", value))

    def read_u32(self, name: str, index: int = 0) -> int | None:
        """Cell ``index`` of a property (``of_property_read_u32_index``), None if absent
        or too short."""
        value = self.properties.get(name)
        if value is None or len(value) < 4 * (index + 1):
            return None
        return struct.unpack_from(">I", value, 4 * index)[0]

    def read_u64(self, name: str) -> int | None:
        value = self.properties.get(name)
        if value is None or len(value) < 8:
            return None
        return struct.unpack_from(">Q", value)[0]

    def read_strings(self, name: str) -> list[str] | None:
        """A NUL-separated string list (``compatible``, ``reg-names``), None if absent."""
        value = self.properties.get(name)
        if value is None:
            return None
        if not value:
            return []
        parts = value.split(b"\0")
        if parts[-1] == b"":
            parts.pop()
        return [p.decode("utf-8", "replace") for p in parts]

    def read_string(self, name: str) -> str | None:
        """The first string of a property (``of_property_read_string``)."""
        strings = self.read_strings(name)
        return strings[0] if strings else None

    def read_string_index(self, name: str, index: int) -> str | None:
        strings = self.read_strings(name)
        if strings is None or index >= len(strings):
            return None
        return strings[index]

    def match_string(self, name: str, string: str) -> int:
        """Index of ``string`` in a string-list property, -1 if not there
        (``of_property_match_string`` returns -ENODATA/-EINVAL; callers only test < 0)."""
        strings = self.read_strings(name) or []
        return strings.index(string) if string in strings else -1

    # -- kernel predicates -------------------------------------------------

    @property
    def compatible(self) -> list[str]:
        return self.read_strings("compatible") or []

    def compatible_score(self, compat: str) -> int:
        """``__of_device_is_compatible`` for a compatible-only match: entries
        earlier in the list score higher, 0 means no match."""
        strings = self.compatible
        for i, s in enumerate(strings):
            if s.lower() == compat.lower():  # the kernel compares with of_compat_cmp (strcasecmp)
                return _INT_MAX // 2 - (i << 2)  # the kernel's scoring
        return 0

    def is_compatible(self, compat: str) -> bool:
        return self.compatible_score(compat) > 0

    @property
    def status(self) -> str | None:
        return self.read_string("status")

    def is_available(self) -> bool:
        """``of_device_is_available``: no status, or status "okay"/"ok"."""
        value = self.properties.get("status")
        if value is None:
            return True
        if not value:
            return False
        return value.split(b"\0", 1)[0] in (b"okay", b"ok")

    @property
    def device_type(self) -> str | None:
        return self.read_string("device_type")


@dataclass
class DeviceTree:
    """A loaded tree: the root, the phandle index and the blob's reservation map."""

    root: DeviceNode
    #: /memreserve/ entries of the blob header: (address, size)
    mem_rsvmap: list[tuple[int, int]] = field(default_factory=list)
    boot_cpuid_phys: int = 0
    #: where it came from (a path, "virt", "<bytes>")
    source: str = "<bytes>"
    #: the flattened blob it was loaded from
    blob: bytes = field(default=b"", repr=False)
    #: warnings dtc printed while compiling a source, if it came from one
    warnings: list[str] = field(default_factory=list)
    _phandles: dict[int, DeviceNode] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the phandle index after nodes were edited."""
        self._phandles = {}
        for node in self.root.walk():
            ph = node.phandle
            if ph is not None and ph not in (0, 0xFFFFFFFF):
                self._phandles.setdefault(ph, node)

    def nodes(self) -> Iterator[DeviceNode]:
        """Every node, pre-order, in blob order (the kernel's allnodes order)."""
        return self.root.walk()

    def find_node_by_path(self, path: str) -> DeviceNode | None:
        """``of_find_node_by_path``: an absolute path or an alias followed by a path."""
        if not path.startswith("/"):
            alias, _, rest = path.partition("/")
            target = self.aliases().get(alias)
            if target is None:
                return None
            path = target + ("/" + rest if rest else "")
        node = self.root
        for part in (p for p in path.split("/") if p):
            found = node.child(part)
            if found is None:
                return None
            node = found
        return node

    def find_node_by_phandle(self, phandle: int) -> DeviceNode | None:
        return self._phandles.get(phandle)

    def find_compatible(self, compat: str) -> list[DeviceNode]:
        """Every node compatible with ``compat`` (``for_each_compatible_node``)."""
        return [n for n in self.nodes() if n.is_compatible(compat)]

    def aliases(self) -> dict[str, str]:
        node = self.root.child("aliases")
        if node is None:
            return {}
        out: dict[str, str] = {}
        for key in node.properties:
            value = node.read_string(key)
            if value and key not in ("name", "phandle", "linux,phandle"):
                out[key] = value
        return out

    @property
    def chosen(self) -> DeviceNode | None:
        return self.root.child("chosen")

    @property
    def model(self) -> str | None:
        return self.root.read_string("model")

    @property
    def compatible(self) -> list[str]:
        return self.root.compatible

    def parse_phandle_with_args(self, node: DeviceNode, list_name: str, cells_name: str,
                                index: int) -> tuple[DeviceNode, list[int]] | None:
        """``of_parse_phandle_with_args``: entry ``index`` of a phandle list whose
        argument count each target gives in ``cells_name``."""
        cells = node.read_u32_array(list_name)
        if cells is None:
            return None
        i = n = 0
        while i < len(cells):
            ph = cells[i]
            i += 1
            target = self.find_node_by_phandle(ph) if ph else None
            if ph and target is None:
                raise DtError(f"{node.path}: '{list_name}' refers to phandle 0x{ph:x}, "
                              "which no node has")
            count = 0
            if target is not None:
                count_v = target.read_u32(cells_name)
                if count_v is None:
                    raise DtError(f"{target.path}: missing '{cells_name}' "
                                  f"(needed by '{list_name}' of {node.path})")
                count = count_v
            if i + count > len(cells):
                raise DtError(f"{node.path}: '{list_name}' ends inside an entry")
            if n == index:
                return (target, cells[i:i + count]) if target is not None else None
            i += count
            n += 1
        return None
