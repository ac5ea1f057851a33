"""Properties of the memory model.

* Under ``strict``, any sequence of accesses reaches the device in program order, one
  access of the asked width each.
* Under ``adversarial`` (and ``realistic``), a program that follows the kernel's rules
  observes the same device-visible outcome as under ``strict``: the same writes reach
  the device in the same order, reads return the same values, the DMA engine fetches the
  same bytes, the CPU loads the same bytes the device wrote to memory, memory written
  through write-combining ends the same.  The rules: ring a doorbell with ``writel`` (or
  ``wmb(); writel_relaxed``), leave a buffer alone until the device is done with it (a
  read-back), read what the device wrote only after the status read that says it is
  there was ``readl`` (or ``readl_relaxed(); rmb()``), ``wmb()`` before reading back
  what was written through write-combining from elsewhere.
"""

from __future__ import annotations

from cpu_rig import BUF, BUF_SIZE, DEV, DMA_DEV, SRAM, build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import iomem

WIDTHS = {1: "b", 2: "w", 4: "l", 8: "q"}

_access = st.tuples(st.sampled_from(["r", "w"]), st.sampled_from(sorted(WIDTHS)),
                    st.integers(0, 63), st.sampled_from(["", "_relaxed", "raw"]),
                    st.integers(0, 2**64 - 1))


def _name(kind: str, size: int, flavour: str) -> str:
    base = ("read" if kind == "r" else "write") + WIDTHS[size]
    return f"__raw_{base}" if flavour == "raw" else base + flavour


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_access, max_size=30), st.sampled_from(["arm64", "x86_64"]),
       st.sampled_from(["ioremap", "ioremap_np", "ioremap_wc", "ioremap_wt", "ioremap_cache"]))
def test_strict_reaches_the_device_in_program_order(ops, arch, variant) -> None:
    # whatever the memory type: strict is the model that does nothing behind the driver
    r = build(arch, model="strict")
    if variant == "ioremap_np" and arch != "arm64":
        variant = "ioremap_uc"
    c = getattr(r.k, variant)(DEV, 0x1000)
    expected = []
    for kind, size, slot, flavour, value in ops:
        off = slot * 8  # aligned for every width
        fn = getattr(iomem, _name(kind, size, flavour))
        if kind == "r":
            fn(c + off)
            expected.append(("r", off, size))
        else:
            v = value & ((1 << (8 * size)) - 1)
            fn(v, c + off)
            expected.append(("w", off, size, v))
    assert r.dev.log == expected


_op = st.one_of(
    st.tuples(st.just("w"), st.sampled_from([4, 8]), st.integers(0, 31), st.booleans(),
              st.integers(0, 2**32 - 1)),
    st.tuples(st.just("r"), st.sampled_from([4, 8]), st.integers(0, 31), st.booleans()),
    st.tuples(st.just("wc"), st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("wcr"), st.integers(0, 255)),
    st.tuples(st.just("store"), st.integers(0, BUF_SIZE - 1), st.integers(0, 255)),
    st.tuples(st.just("ring"), st.booleans()),
    st.tuples(st.just("fill"), st.booleans(), st.integers(0, 255), st.integers(0, BUF_SIZE - 8)),
    st.tuples(st.just("barrier"), st.sampled_from(["wmb", "rmb", "mb", "dma_wmb",
                                                   "dma_rmb"])),
    st.tuples(st.just("delay"), st.integers(0, 3000)),
)


def _outcome(model: str, arch: str, program: list) -> tuple:
    r = build(arch, model=model)
    dev = r.k.ioremap(DEV, 0x1000)
    bell = r.k.ioremap(DMA_DEV, 0x100)
    wc = r.k.ioremap_wc(SRAM, 0x1000)
    seen = []
    for op in program:
        what = op[0]
        if what == "w":
            _, size, slot, relaxed, value = op
            fn = getattr(iomem, f"write{WIDTHS[size]}{'_relaxed' if relaxed else ''}")
            fn(value, dev + slot * 8)
        elif what == "r":
            _, size, slot, relaxed = op
            fn = getattr(iomem, f"read{WIDTHS[size]}{'_relaxed' if relaxed else ''}")
            seen.append(fn(dev + slot * 8))
        elif what == "wc":
            iomem.writel_relaxed(op[2], wc + op[1] * 4)
        elif what == "wcr":
            iomem.wmb()
            seen.append(iomem.readl(wc + op[1] * 4))
        elif what == "store":
            r.k.cpu.store(BUF + op[1], bytes((op[2],)))
        elif what == "ring":
            if op[1]:
                iomem.wmb()
                iomem.writel_relaxed(1, bell)
            else:
                iomem.writel(1, bell)
            iomem.readl(bell + 4)  # the device is done before the buffer is touched again
        elif what == "fill":  # the device writes the buffer; the CPU reads the result
            _, relaxed, byte, at = op
            iomem.writel(byte, bell + 8)
            if relaxed:
                iomem.readl_relaxed(bell + 4)
                iomem.rmb()
            else:
                iomem.readl(bell + 4)
            seen.append(r.k.cpu.load(BUF + at, 8))
        elif what == "barrier":
            getattr(iomem, op[1])()
        else:
            iomem.ndelay(op[1])
    iomem.wmb()
    iomem.readl(dev)
    iomem.readl(bell + 4)
    memory = r.machine.memory.read_bytes(SRAM, 0x400)
    return (r.dev.writes(), seen, r.dma.fetched, memory)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, max_size=40), st.sampled_from(["arm64", "x86_64"]),
       st.sampled_from(["adversarial", "realistic"]))
def test_programs_that_follow_the_rules_see_one_outcome(program, arch, model) -> None:
    assert _outcome(model, arch, program) == _outcome("strict", arch, program)
