"""What the sanitizer and the CPU memory models cost per register access.

One 32-bit register ``readl``/``writel`` (and the relaxed forms) through a cookie on
the bench board's register file, with the sanitizer off and on, under each memory
model.  Every row is compared with the same access on the plain kernel (no layer on the
path) measured in the same run.  Under ``realistic`` and ``adversarial`` the register
mapping is Device-nGnRE, so writes are posted: a write row includes queueing the write
and, now and then, its arrival.
"""

from __future__ import annotations

from fixtures import bench_board
from harness import Case, Target

from iomem.kernel import io

ORDER = 15

OFFSET = 0x40
_S = "sanitizer and memory models: one 32-bit register access"


def _ns(variant: str) -> dict[str, object]:
    b = bench_board(variant)
    return {"c": b.reg + OFFSET, "x": 0x5A,
            **{n: io.accessor(n) for n in ("readl", "writel", "readl_relaxed",
                                          "writel_relaxed")}}


CASES: list[Case] = []
for _variant, _label in (("plain", "plain kernel (nothing on the path)"),
                         ("strict", "strict model, sanitizer off"),
                         ("realistic", "realistic model, sanitizer off"),
                         ("adversarial", "adversarial model, sanitizer off"),
                         ("sanitizer+strict", "sanitizer on, strict model"),
                         ("sanitizer+realistic", "sanitizer on, realistic model"),
                         ("sanitizer+adversarial", "sanitizer on, adversarial model")):
    for _fn, _stmt in (("readl", "readl(c)"), ("writel", "writel(x, c)"),
                       ("readl_relaxed", "readl_relaxed(c)"),
                       ("writel_relaxed", "writel_relaxed(x, c)")):
        CASES.append(Case(_S, f"check.{_variant}.{_fn}", f"{_stmt}: {_label}", _stmt,
                          lambda v=_variant: _ns(v),
                          ref=None if _variant == "plain" else f"check.plain.{_fn}"))

# the target: every checked register access under 2 us, whatever the model
# (under realistic/adversarial a write is posted: queued now, delivered on a timer)
TARGETS = [
    *(Target(f"checked register {_fn} under 2 us (sanitizer on, {_model} model)",
             f"check.sanitizer+{_model}.{_fn}", None, 2000, unit="ns")
      for _model in ("strict", "realistic", "adversarial")
      for _fn in ("readl", "writel", "readl_relaxed", "writel_relaxed")),
    Target("strict model, sanitizer off: the plain path (within 10%)",
           "check.strict.readl", "check.plain.readl", 1.10),
]
