"""Architecture profiles: what differs between arm64, x86_64 and a 32-bit arm kernel.

Each profile carries the ioremap memory-type table (arch/*/include/asm/io.h,
arch/x86/mm/ioremap.c, arch/arm64/mm/ioremap.c), the vmalloc window, the
physical address width, the unit of the string copy routines, the oops
wording, and whether 64-bit MMIO accessors exist (``readq`` is missing on
32-bit kernels, as in ``asm-generic/io.h``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Memory types, named as each architecture names them.
UC_MINUS = "UC-"
UC = "UC"
WC = "WC"
WT = "WT"
WB = "WB"
DEVICE_nGnRnE = "Device-nGnRnE"  # noqa: N816
DEVICE_nGnRE = "Device-nGnRE"  # noqa: N816
NORMAL_NC = "Normal-NC"
NORMAL = "Normal"

#: memory types whose accesses reach the device one by one, in order
DEVICE_TYPES = frozenset({UC_MINUS, UC, DEVICE_nGnRnE, DEVICE_nGnRE})
#: write-combining / normal non-cacheable
WC_TYPES = frozenset({WC, NORMAL_NC})
#: cacheable
CACHED_TYPES = frozenset({WB, WT, NORMAL})

# x86 page cache modes as printed in "ioremap error ... requested 0x%x, got 0x%x"
# (enum page_cache_mode, arch/x86/include/asm/pgtable_types.h)
X86_PCM = {WB: 0, WC: 1, UC_MINUS: 2, UC: 3, WT: 4}


@dataclass(frozen=True)
class ArchProfile:
    name: str
    bits: int
    vmalloc_start: int
    vmalloc_end: int
    phys_bits: int
    #: ioremap variant -> memory type, or None where the variant returns NULL
    ioremap_types: dict[str, str | None] = field(default_factory=dict)
    #: linear map base for ioremap_cache of RAM (arm64 hands back the linear map)
    page_offset: int = 0
    #: access size the string copies (memcpy_toio/fromio, memset_io) use
    copy_unit: int = 8
    #: IOREMAP_MAX_ORDER: the include/linux/vmalloc.h default is 7 + PAGE_SHIFT; x86_64
    #: and arm64 with 4K pages use PUD_SHIFT (asm/page_types.h, asm/memory.h)
    ioremap_max_order: int = 19
    page_shift: int = 12

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def has_readq(self) -> bool:
        return self.bits == 64

    @property
    def is_x86(self) -> bool:
        return self.name == "x86_64"

    def ptr(self, value: int) -> str:
        """A kernel virtual address as ``%px``/oops messages print it."""
        return f"{value:0{self.bits // 4}x}"


ARM64 = ArchProfile(
    name="arm64", bits=64,
    vmalloc_start=0xFFFF800008000000, vmalloc_end=0xFFFFFBFFEFFF0000,
    phys_bits=48,
    ioremap_types={"ioremap": DEVICE_nGnRE, "ioremap_np": DEVICE_nGnRnE, "ioremap_uc": None,
                   "ioremap_wc": NORMAL_NC, "ioremap_wt": DEVICE_nGnRE,
                   "ioremap_cache": NORMAL},
    page_offset=0xFFFF000000000000,
    copy_unit=8,
    ioremap_max_order=30,
)

X86_64 = ArchProfile(
    name="x86_64", bits=64,
    vmalloc_start=0xFFFFC90000000000, vmalloc_end=0xFFFFE8FFFFFFFFFF,
    phys_bits=40,
    ioremap_types={"ioremap": UC_MINUS, "ioremap_np": None, "ioremap_uc": UC,
                   "ioremap_wc": WC, "ioremap_wt": WT, "ioremap_cache": WB},
    page_offset=0xFFFF888000000000,
    copy_unit=4,
    ioremap_max_order=30,
)

ARM32 = ArchProfile(
    name="arm", bits=32,
    vmalloc_start=0xF0000000, vmalloc_end=0xFF800000,
    phys_bits=32,
    ioremap_types={"ioremap": DEVICE_nGnRE, "ioremap_np": None, "ioremap_uc": None,
                   "ioremap_wc": NORMAL_NC, "ioremap_wt": DEVICE_nGnRE,
                   "ioremap_cache": NORMAL},
    page_offset=0xC0000000,
    copy_unit=4,
)

PROFILES = {p.name: p for p in (ARM64, X86_64, ARM32)}


def profile(name: str) -> ArchProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(PROFILES)}") from None
