"""Address lookup in the flat view with 10, 1 000 and 100 000 regions.

"hit" asks for the region the last lookup found (the last-hit cache answers);
"miss" walks 1 024 random addresses, each in a different region from the one
before, so every lookup bisects.  Rows compare with the 10-region row of the
same kind: bisection makes 100 000 regions cost about log2(1e5)/log2(10) = 5x
at most, far from the 10 000x of a linear scan.

Random misses over the whole of a 100 000-region map also pay for memory:
each bisection step lands on an object that is not in the CPU's caches.  The
"working set" rows bisect the same big map but stay among 64 regions (a driver
talking to a few devices on a big machine), which shows the algorithm's
growth apart from the memory hierarchy's.
"""

from __future__ import annotations

import math
import random

from fixtures import address_space, region_addr
from harness import Case, Target

ORDER = 20

SIZES = (10, 1_000, 100_000)
WALK = 1024


def _hit(n: int) -> dict[str, object]:
    space = address_space(n)
    a = region_addr(n // 2)
    space.lookup(a)
    return {"lookup": space.lookup, "a": a}


def _miss(n: int, among: int | None = None) -> dict[str, object]:
    space = address_space(n)
    rng = random.Random(n)
    pool = min(n, among or n)
    first = (n - pool) // 2  # the working set sits in the middle of the map
    idx: list[int] = []
    while len(idx) < WALK:
        i = first + rng.randrange(pool)
        if not idx or i != idx[-1]:
            idx.append(i)
    if idx[0] == idx[-1]:  # the walk repeats: its end must not prime its start
        idx[0] = first + (idx[0] - first + 1) % pool
    addrs = [region_addr(i, rng.randrange(0, 0x1000, 4)) for i in idx]
    return {"lookup": space.lookup, "addrs": addrs}


WORKING_SET = 64

CASES: list[Case] = []
for _n in SIZES:
    CASES.append(Case("lookup", f"lookup.hit.{_n}", f"hit (last-hit cache), {_n:,} regions",
                      "lookup(a)", lambda n=_n: _hit(n), ref=f"lookup.hit.{SIZES[0]}"))
for _n in SIZES:
    CASES.append(Case("lookup", f"lookup.set.{_n}",
                      f"miss, {WORKING_SET} hot regions, {_n:,} regions",
                      "for a in addrs: lookup(a)", lambda n=_n: _miss(n, WORKING_SET),
                      ref=f"lookup.set.{SIZES[0]}", ops=WALK))
for _n in SIZES:
    CASES.append(Case("lookup", f"lookup.miss.{_n}", f"miss, random, {_n:,} regions",
                      "for a in addrs: lookup(a)", lambda n=_n: _miss(n),
                      ref=f"lookup.miss.{SIZES[0]}", ops=WALK))

#: what pure log n growth gives from the smallest to the largest map
LOG_RATIO = math.log(SIZES[-1]) / math.log(SIZES[0])
LINEAR_RATIO = SIZES[-1] // SIZES[0]
_BIG, _SMALL = SIZES[-1], SIZES[0]

TARGETS = [
    Target(f"lookup hit, {_BIG:,} vs {_SMALL} regions: constant (<= 2x)",
           f"lookup.hit.{_BIG}", f"lookup.hit.{_SMALL}", 2.0),
    Target(f"lookup miss in a working set, {_BIG:,} vs {_SMALL} regions: <= {LOG_RATIO:.0f}x "
           "(log n)", f"lookup.set.{_BIG}", f"lookup.set.{_SMALL}", LOG_RATIO),
    Target(f"lookup random miss, {_BIG:,} vs {_SMALL} regions: far below linear "
           f"({LINEAR_RATIO:,}x); <= {LINEAR_RATIO // 100}x", f"lookup.miss.{_BIG}",
           f"lookup.miss.{_SMALL}", LINEAR_RATIO / 100),
]
