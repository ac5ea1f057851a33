"""A PCI function's configuration space: the bytes, and which bits software may change.

Mirrors the config-space half of QEMU's hw/pci/pci.c (the ``config``,
``wmask``, ``w1cmask`` and ``used`` arrays of a ``PCIDevice``): every byte has
a write mask (bits a write may change) and a write-1-to-clear mask (status
error bits), so the BAR sizing protocol, read-only identification and the
W1C status bits all fall out of one masked write.  Capabilities are placed
the way QEMU's ``pci_add_capability`` places them (first free dword-aligned
space from 0x40, new capabilities at the head of the list).

The layout of registers and bits is the kernel's include/uapi/linux/pci_regs.h
(see :mod:`.regs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import regs as R

_MASK = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}


class BarKind(StrEnum):
    """What a base address register decodes."""

    MEM32 = "mem32"
    MEM64 = "mem64"
    IO = "io"
    ROM = "rom"  # the expansion ROM BAR (index 6)

    @property
    def is_io(self) -> bool:
        return self is BarKind.IO


@dataclass(frozen=True)
class Capability:
    """One entry of a capability list (standard or extended)."""

    id: int
    offset: int
    size: int
    extended: bool = False


class ConfigError(ValueError):
    """A config-space layout request that cannot be met (overlap, no room, bad size)."""


class PciConfigSpace:
    """256 bytes (conventional) or 4096 bytes (PCI Express) of config space.

    ``read``/``write`` are what a config cycle does: reads return the bytes,
    writes change only the bits of ``wmask`` and clear the bits of
    ``w1cmask`` written as 1.  ``get``/``set`` are the device's own raw
    access (no masks), for the model to update its registers.
    """

    def __init__(self, size: int = R.PCI_CFG_SPACE_SIZE) -> None:
        if size not in (R.PCI_CFG_SPACE_SIZE, R.PCI_CFG_SPACE_EXP_SIZE):
            raise ConfigError(f"config space is 256 or 4096 bytes, not {size}")
        self.size = size
        self.data = bytearray(size)
        self.wmask = bytearray(size)
        self.w1cmask = bytearray(size)
        self.used = bytearray(size)  # bytes claimed by the header or a capability
        self.used[:R.PCI_STD_HEADER_SIZEOF] = b"\xff" * R.PCI_STD_HEADER_SIZEOF
        self.caps: list[Capability] = []

    # -- raw access (the device's side) -----------------------------------------------------

    def _check(self, offset: int, size: int) -> None:
        if size not in _MASK:
            raise ConfigError(f"config access size must be 1, 2, 4 or 8, not {size}")
        if offset < 0 or offset + size > self.size:
            raise ConfigError(f"config access [0x{offset:x}, +{size}) is outside the "
                              f"{self.size}-byte config space")

    def get(self, offset: int, size: int) -> int:
        """The little-endian value of ``size`` bytes at ``offset``."""
        self._check(offset, size)
        return int.from_bytes(self.data[offset:offset + size], "little")

    def set(self, offset: int, size: int, value: int) -> None:
        """Store ``value`` without masks (the device writing its own register)."""
        self._check(offset, size)
        self.data[offset:offset + size] = (value & _MASK[size]).to_bytes(size, "little")

    def get_byte(self, offset: int) -> int:
        return self.data[offset]

    def get_word(self, offset: int) -> int:
        return self.get(offset, 2)

    def get_long(self, offset: int) -> int:
        return self.get(offset, 4)

    def get_quad(self, offset: int) -> int:
        return self.get(offset, 8)

    def set_byte(self, offset: int, value: int) -> None:
        self.set(offset, 1, value)

    def set_word(self, offset: int, value: int) -> None:
        self.set(offset, 2, value)

    def set_long(self, offset: int, value: int) -> None:
        self.set(offset, 4, value)

    def set_quad(self, offset: int, value: int) -> None:
        self.set(offset, 8, value)

    def set_bits(self, offset: int, size: int, bits: int) -> None:
        self.set(offset, size, self.get(offset, size) | bits)

    def clear_bits(self, offset: int, size: int, bits: int) -> None:
        self.set(offset, size, self.get(offset, size) & ~bits)

    def set_wmask(self, offset: int, size: int, mask: int) -> None:
        self._check(offset, size)
        self.wmask[offset:offset + size] = (mask & _MASK[size]).to_bytes(size, "little")

    def set_w1cmask(self, offset: int, size: int, mask: int) -> None:
        self._check(offset, size)
        self.w1cmask[offset:offset + size] = (mask & _MASK[size]).to_bytes(size, "little")

    def get_wmask(self, offset: int, size: int) -> int:
        self._check(offset, size)
        return int.from_bytes(self.wmask[offset:offset + size], "little")

    def get_w1cmask(self, offset: int, size: int) -> int:
        self._check(offset, size)
        return int.from_bytes(self.w1cmask[offset:offset + size], "little")

    # -- config cycles (software's side) ----------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        """A config read: the bytes as they are."""
        return self.get(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        """A config write: only writable bits change; W1C bits written as 1 clear."""
        self._check(offset, size)
        data, wmask, w1c = self.data, self.wmask, self.w1cmask
        for i in range(size):
            b = (value >> (8 * i)) & 0xFF
            pos = offset + i
            data[pos] = ((data[pos] & ~wmask[pos]) | (b & wmask[pos])) & ~(b & w1c[pos]) & 0xFF

    # -- capabilities -----------------------------------------------------------------------

    def _find_space(self, size: int, start: int, end: int) -> int | None:
        run_start = start
        for i in range(start, end):
            if self.used[i]:
                run_start = (i + 1 + 3) & ~3
            elif i - run_start + 1 >= size and run_start % 4 == 0:
                return run_start
        return None

    def add_capability(self, cap_id: int, size: int, offset: int | None = None) -> int:
        """Link a standard capability of ``size`` bytes into the list and return its offset.

        Without ``offset`` the first free dword-aligned space from 0x40 is used.
        The new capability becomes the head of the list; its bytes start
        read-only (the caller opens the bits software may write).
        """
        if size < 2:
            raise ConfigError("a capability is at least its 2-byte header")
        limit = R.PCI_CFG_SPACE_SIZE
        if offset is None:
            found = self._find_space(size, R.PCI_STD_HEADER_SIZEOF, limit)
            if found is None:
                raise ConfigError(f"no room for a {size}-byte capability 0x{cap_id:02x}")
            offset = found
        else:
            if offset < R.PCI_STD_HEADER_SIZEOF or offset % 4 or offset + size > limit:
                raise ConfigError(f"capability 0x{cap_id:02x} cannot live at 0x{offset:x}")
            if any(self.used[offset:offset + size]):
                raise ConfigError(f"capability 0x{cap_id:02x} at 0x{offset:x} overlaps "
                                  "another capability")
        self.data[offset] = cap_id
        self.data[offset + 1] = self.data[R.PCI_CAPABILITY_LIST]
        self.data[R.PCI_CAPABILITY_LIST] = offset
        self.data[R.PCI_STATUS] |= R.PCI_STATUS_CAP_LIST
        span = (size + 3) & ~3
        self.used[offset:offset + span] = b"\xff" * span
        self.wmask[offset:offset + size] = bytes(size)
        self.w1cmask[offset:offset + size] = bytes(size)
        self.caps.append(Capability(cap_id, offset, size))
        return offset

    def add_ext_capability(self, cap_id: int, version: int, size: int,
                           offset: int | None = None) -> int:
        """Link a PCI Express extended capability (config space 0x100 and up)."""
        if self.size != R.PCI_CFG_SPACE_EXP_SIZE:
            raise ConfigError("extended capabilities need a 4096-byte config space")
        if offset is None:
            offset = self._find_space(size, R.PCI_CFG_SPACE_SIZE, self.size)
            if offset is None:
                raise ConfigError(f"no room for extended capability 0x{cap_id:04x}")
        elif (offset < R.PCI_CFG_SPACE_SIZE or offset % 4 or offset + size > self.size
              or any(self.used[offset:offset + size])):
            raise ConfigError(f"extended capability 0x{cap_id:04x} cannot live at 0x{offset:x}")
        header = (cap_id & 0xFFFF) | ((version & 0xF) << 16)
        if any(c.extended for c in self.caps):
            tail = R.PCI_CFG_SPACE_SIZE  # append at the tail of the list rooted at 0x100
            while R.PCI_EXT_CAP_NEXT(self.get_long(tail)):
                tail = R.PCI_EXT_CAP_NEXT(self.get_long(tail))
            self.set_long(tail, self.get_long(tail) | (offset << 20))
        elif offset != R.PCI_CFG_SPACE_SIZE:
            raise ConfigError("the first extended capability must be at 0x100")
        self.set_long(offset, header)
        span = (size + 3) & ~3
        self.used[offset:offset + span] = b"\xff" * span
        self.wmask[offset:offset + size] = bytes(size)
        self.w1cmask[offset:offset + size] = bytes(size)
        self.caps.append(Capability(cap_id, offset, size, extended=True))
        return offset

    def capabilities(self) -> list[tuple[int, int]]:
        """Walk the standard list from 0x34 as software does: [(id, offset), ...]."""
        out: list[tuple[int, int]] = []
        if not self.data[R.PCI_STATUS] & R.PCI_STATUS_CAP_LIST:
            return out
        pos = self.data[R.PCI_CAPABILITY_LIST] & ~3
        ttl = 48  # the kernel's PCI_FIND_CAP_TTL: a looped list ends here too
        while pos >= R.PCI_STD_HEADER_SIZEOF and ttl:
            cap_id = self.data[pos]
            if cap_id == 0xFF:
                break
            out.append((cap_id, pos))
            pos = self.data[pos + 1] & ~3
            ttl -= 1
        return out

    def find_capability(self, cap_id: int) -> int | None:
        """Offset of the first capability ``cap_id`` on the list (pci_find_capability)."""
        for cid, pos in self.capabilities():
            if cid == cap_id:
                return pos
        return None

    def ext_capabilities(self) -> list[tuple[int, int, int]]:
        """Walk the extended list from 0x100: [(id, version, offset), ...]."""
        out: list[tuple[int, int, int]] = []
        if self.size <= R.PCI_CFG_SPACE_SIZE:
            return out
        pos = R.PCI_CFG_SPACE_SIZE
        ttl = (self.size - R.PCI_CFG_SPACE_SIZE) // 8
        while pos and ttl:
            header = self.get_long(pos)
            if header == 0 or header == 0xFFFFFFFF:
                break
            out.append((R.PCI_EXT_CAP_ID(header), R.PCI_EXT_CAP_VER(header), pos))
            pos = R.PCI_EXT_CAP_NEXT(header)
            if pos < R.PCI_CFG_SPACE_SIZE:
                break
            ttl -= 1
        return out

    def find_ext_capability(self, cap_id: int) -> int | None:
        for cid, _ver, pos in self.ext_capabilities():
            if cid == cap_id:
                return pos
        return None

    # -- BARs -------------------------------------------------------------------------------

    def bar_offset(self, index: int) -> int:
        """Config offset of BAR ``index`` (6 is the expansion ROM), by header type."""
        header = self.data[R.PCI_HEADER_TYPE] & R.PCI_HEADER_TYPE_MASK
        if index == R.PCI_ROM_RESOURCE:
            return R.PCI_ROM_ADDRESS1 if header == R.PCI_HEADER_TYPE_BRIDGE else R.PCI_ROM_ADDRESS
        nbars = 2 if header == R.PCI_HEADER_TYPE_BRIDGE else R.PCI_STD_NUM_BARS
        if not 0 <= index < nbars:
            raise ConfigError(f"a type-{header} header has no BAR {index}")
        return R.PCI_BASE_ADDRESS_0 + 4 * index

    def register_bar(self, index: int, size: int, kind: BarKind | str,
                     prefetch: bool = False) -> int:
        """Give BAR ``index`` its type bits and write mask; return the type bits.

        The write mask is ``~(size - 1)``, so writing all-ones and reading back
        gives the size mask with the read-only type bits below it: the sizing
        protocol of the PCI spec (and of QEMU's ``pci_register_bar``).
        """
        kind = BarKind(kind)
        if size <= 0 or size & (size - 1):
            raise ConfigError(f"BAR {index}: size 0x{size:x} is not a power of two")
        if (index == R.PCI_ROM_RESOURCE) != (kind is BarKind.ROM):
            raise ConfigError("the expansion ROM is BAR 6, and BAR 6 is the expansion ROM")
        off = self.bar_offset(index)
        if self.get_wmask(off, 4):
            raise ConfigError(f"BAR {index} is already registered")
        if kind is BarKind.IO:
            if size < 4:
                raise ConfigError(f"BAR {index}: an I/O BAR is at least 4 bytes")
            if size > 1 << 31:
                raise ConfigError(f"BAR {index}: an I/O BAR is at most 2 GiB")
            type_bits = R.PCI_BASE_ADDRESS_SPACE_IO
        elif kind is BarKind.ROM:
            if size < 2048 or size > 1 << 31:
                raise ConfigError("an expansion ROM is 2 KiB to 2 GiB")
            type_bits = 0
        else:
            if size < 16:
                raise ConfigError(f"BAR {index}: a memory BAR is at least 16 bytes")
            if kind is BarKind.MEM32 and size > 1 << 31:
                raise ConfigError(f"BAR {index}: a 32-bit BAR is at most 2 GiB")
            type_bits = R.PCI_BASE_ADDRESS_SPACE_MEMORY
            if kind is BarKind.MEM64:
                type_bits |= R.PCI_BASE_ADDRESS_MEM_TYPE_64
            if prefetch:
                type_bits |= R.PCI_BASE_ADDRESS_MEM_PREFETCH
        wmask = ~(size - 1) & 0xFFFFFFFFFFFFFFFF
        if kind is BarKind.ROM:
            wmask |= R.PCI_ROM_ADDRESS_ENABLE
        if kind is BarKind.MEM64:
            header = self.data[R.PCI_HEADER_TYPE] & R.PCI_HEADER_TYPE_MASK
            nbars = 2 if header == R.PCI_HEADER_TYPE_BRIDGE else R.PCI_STD_NUM_BARS
            if index + 1 >= nbars:
                raise ConfigError(f"BAR {index}: a 64-bit BAR needs BAR {index + 1} too")
            if self.get_wmask(off + 4, 4):
                raise ConfigError(f"BAR {index + 1} is in use; BAR {index} cannot be 64-bit")
            self.set_quad(off, type_bits)
            self.set_wmask(off, 8, wmask)
            self.used[off:off + 8] = b"\xff" * 8
        else:
            self.set_long(off, type_bits)
            self.set_wmask(off, 4, wmask & 0xFFFFFFFF)
            self.used[off:off + 4] = b"\xff" * 4
        return type_bits

    # -- capability builders that are pure layout -------------------------------------------

    def add_pm_capability(self, offset: int | None = None, *, d1: bool = False,
                          d2: bool = False, pme_support: int = 0,
                          no_soft_reset: bool = True) -> int:
        """A Power Management capability (PCI PM 1.2, version 3).

        PMCSR's PowerState field (and PME_En, with PME support) is writable;
        PME_Status is write-1-to-clear.  The model does not change decode in
        D3hot: QEMU 7.2 does not either.
        """
        pos = self.add_capability(R.PCI_CAP_ID_PM, R.PCI_PM_SIZEOF, offset)
        pmc = 3 | (R.PCI_PM_CAP_D1 if d1 else 0) | (R.PCI_PM_CAP_D2 if d2 else 0)
        pmc |= (pme_support & 0x1F) << R.PCI_PM_CAP_PME_SHIFT
        self.set_word(pos + R.PCI_PM_PMC, pmc)
        self.set_word(pos + R.PCI_PM_CTRL, R.PCI_PM_CTRL_NO_SOFT_RESET if no_soft_reset else 0)
        wmask = R.PCI_PM_CTRL_STATE_MASK
        if pme_support:
            wmask |= R.PCI_PM_CTRL_PME_ENABLE
            self.set_w1cmask(pos + R.PCI_PM_CTRL, 2, R.PCI_PM_CTRL_PME_STATUS)
        self.set_wmask(pos + R.PCI_PM_CTRL, 2, wmask)
        return pos

    def add_express_capability(self, port_type: int = R.PCI_EXP_TYPE_ENDPOINT,
                               offset: int | None = None, *, max_payload: int = 0,
                               link_speed: int = 1, link_width: int = 1,
                               port_number: int = 0, flr: bool = False) -> int:
        """A PCI Express capability, version 2 (0x3c bytes).

        Device control carries the writable fields the kernel programs (error
        reporting, relaxed ordering, payload and read request sizes, extended
        tags, no-snoop, and initiate-FLR when ``flr``); device status errors
        are W1C; the link reports ``link_speed`` (1 = 2.5 GT/s) x ``link_width``.
        The shape follows the PCIe base spec and QEMU's hw/pci/pcie.c; it is not
        a byte-for-byte copy of any one QEMU device.
        """
        pos = self.add_capability(R.PCI_CAP_ID_EXP, R.PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, offset)
        self.set_word(pos + R.PCI_EXP_FLAGS, 2 | ((port_type & 0xF) << 4))
        devcap = R.PCI_EXP_DEVCAP_RBER | (max_payload & R.PCI_EXP_DEVCAP_PAYLOAD)
        if flr:
            devcap |= R.PCI_EXP_DEVCAP_FLR
        self.set_long(pos + R.PCI_EXP_DEVCAP, devcap)
        devctl_w = (R.PCI_EXP_DEVCTL_CERE | R.PCI_EXP_DEVCTL_NFERE | R.PCI_EXP_DEVCTL_FERE
                    | R.PCI_EXP_DEVCTL_URRE | R.PCI_EXP_DEVCTL_RELAX_EN
                    | R.PCI_EXP_DEVCTL_PAYLOAD | R.PCI_EXP_DEVCTL_EXT_TAG
                    | R.PCI_EXP_DEVCTL_NOSNOOP_EN | R.PCI_EXP_DEVCTL_READRQ)
        if flr:
            devctl_w |= R.PCI_EXP_DEVCTL_BCR_FLR
        # power-on: relaxed ordering and no-snoop enabled, 512-byte read requests
        self.set_word(pos + R.PCI_EXP_DEVCTL, R.PCI_EXP_DEVCTL_RELAX_EN
                      | R.PCI_EXP_DEVCTL_NOSNOOP_EN | (2 << 12))
        self.set_wmask(pos + R.PCI_EXP_DEVCTL, 2, devctl_w)
        self.set_w1cmask(pos + R.PCI_EXP_DEVSTA, 2, R.PCI_EXP_DEVSTA_CED | R.PCI_EXP_DEVSTA_NFED
                         | R.PCI_EXP_DEVSTA_FED | R.PCI_EXP_DEVSTA_URD)
        self.set_long(pos + R.PCI_EXP_LNKCAP, (link_speed & 0xF) | ((link_width & 0x3F) << 4)
                      | ((port_number & 0xFF) << 24))
        self.set_wmask(pos + R.PCI_EXP_LNKCTL, 2, R.PCI_EXP_LNKCTL_ASPMC | R.PCI_EXP_LNKCTL_CCC
                       | R.PCI_EXP_LNKCTL_ES)
        self.set_word(pos + R.PCI_EXP_LNKSTA, (link_speed & 0xF)
                      | ((link_width & 0x3F) << R.PCI_EXP_LNKSTA_NLW_SHIFT))
        self.set_long(pos + R.PCI_EXP_LNKCAP2, (((1 << link_speed) - 1) << 1) & 0xFE)
        self.set_word(pos + R.PCI_EXP_LNKCTL2, link_speed & 0xF)
        return pos
