"""Tracing against a real kernel: the e1000 driver's mmiotrace, and the edu driver's
register logic recorded through PCI sysfs on QEMU's edu against the same logic in the
simulated kernel driver and through the simulated kernel's PCI sysfs.

One boot of the pc machine: mmiotrace on (tracefs), e1000 loaded, its link
brought up, unloaded, tracing off; then the edu scenario from userspace under
iomem's recorder.  The e1000 trace must parse completely, write back byte for
byte, and its stats must match a count made here with plain string splitting;
the edu traces must agree on every access and value (poll loops folded, as
their length is timing).
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iomem.trace import Map, Rw, Unmap, mmiotrace, read, read_text, record
from iomem.trace.diff import diff
from iomem.trace.plot import plot
from iomem.trace.stats import compute

HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest_trace_edu.py"

CAPTURE = r"""
T=/sys/kernel/tracing
KO=$IOMEM_VM_MODULES/kernel/drivers/net/ethernet/intel/e1000/e1000.ko
echo 20000 > $T/buffer_size_kb
echo mmiotrace > $T/current_tracer
cat $T/trace_pipe > $IOMEM_VM_OUT/e1000.mmiotrace &
CAT=$!
sleep 1
echo "insmod e1000" > $T/trace_marker
busybox insmod $KO || exit 3
sleep 2
busybox ip link set eth0 up
sleep 3
echo "rmmod e1000" > $T/trace_marker
busybox rmmod e1000 || exit 4
sleep 1
echo 0 > $T/tracing_on
sleep 1
kill $CAT 2>/dev/null  # it may have stopped when tracing did
wait $CAT
echo nop > $T/current_tracer
dmesg | grep -i -e mmiotrace -e e1000
exit 0
"""


def _guest_module() -> Any:
    spec = importlib.util.spec_from_file_location("guest_trace_edu", GUEST)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def guest(vm_lab: Any) -> Any:
    result = vm_lab.run_batch(["sh -c " + shlex.quote(CAPTURE), [sys.executable, str(GUEST)]],
                              tracefs=True, timeout=600)
    assert result.ok, f"guest run failed ({result.status}):\n{result.output[-4000:]}"
    return result


def simulated_edu_trace(scenario: Any, path: Path) -> list:
    """The scenario through the simulated kernel edu driver on the pc board, recorded
    from before the driver binds (its probe reads the identification register, as the
    userspace run's first check does)."""
    import iomem
    from iomem.drivers import edu as E
    from iomem.kernel.pci import pci_core

    with record(path, format="jsonl"):
        k = iomem.boot("pc")
        with k:
            drv = E.edu_init()
            pdev = next(d for d in pci_core(k).devices() if d.device == E.PCI_DEVICE_ID_EDU)
            edu = E.edu_get(pdev)
            assert edu is not None
            scenario(edu, probe_check=False)
    E.edu_exit(drv)  # after recording: the remove's quiescing is not the scenario's
    return list(read(path))


@pytest.fixture(scope="module")
def e1000_text(guest: Any) -> str:
    return guest.files["e1000.mmiotrace"].decode()


def test_the_e1000_trace_parses_completely_and_writes_back_byte_for_byte(
        e1000_text: str) -> None:
    events = mmiotrace.loads(e1000_text, source="e1000.mmiotrace")  # strict: any bad line fails
    assert len(events) == len(e1000_text.splitlines()) > 5000
    assert mmiotrace.dumps(events) == e1000_text
    maps = [e for e in events if type(e) is Map]
    unmaps = [e for e in events if type(e) is Unmap]
    assert [(m.phys, m.length) for m in maps] == [(0xFEB40000, 0x20000)]
    assert [u.map_id for u in unmaps] == [maps[0].map_id]  # rmmod unmapped it


def test_e1000_stats_match_an_independent_count(e1000_text: str, tmp_path: Path) -> None:
    # the independent count: first word of each line; per offset and direction
    words = Counter(line.split(" ", 1)[0] for line in e1000_text.splitlines())
    per_reg: Counter = Counter()
    values: Counter = Counter()
    base = None
    for line in e1000_text.splitlines():
        f = line.split()
        if f[0] == "MAP":
            base = int(f[3], 16)
        elif f[0] in ("R", "W"):
            assert base is not None
            per_reg[(int(f[4], 16) - base, f[0])] += 1
            values[(int(f[4], 16) - base, f[0], int(f[5], 16))] += 1
    st = compute(read_text(e1000_text))
    assert (st.reads, st.writes) == (words["R"], words["W"])
    assert st.kinds["MAP"] == words["MAP"] == 1 and st.kinds["UNMAP"] == words["UNMAP"] == 1
    assert st.kinds["PCIDEV"] == words["PCIDEV"] and st.kinds["MARK"] == words["MARK"]
    (region,) = st.regions.values()
    assert region.label == "00:03.0 BAR0" and region.key == "8086:100e BAR0"
    got = Counter()
    for off, rs in region.regs.items():
        if rs.reads:
            got[(off, "R")] = rs.reads
        if rs.writes:
            got[(off, "W")] = rs.writes
    assert got == per_reg
    status = region.regs[0x8]
    assert sum(status.read_values.values()) + status.read_other == per_reg[(0x8, "R")]
    for v, n in status.read_values.items():
        assert values[(0x8, "R", v)] == n
    s = plot(read_text(e1000_text), tmp_path / "e1000.png")
    assert s.accesses == words["R"] + words["W"] and (tmp_path / "e1000.png").stat().st_size


def test_the_userspace_edu_run_matches_the_simulated_kernel_driver(guest: Any,
                                                                   tmp_path: Path) -> None:
    real = read_text(guest.files["edu-user.jsonl"].decode())
    assert any(type(e) is Rw for e in real)
    sim = simulated_edu_trace(_guest_module().scenario, tmp_path / "sim.jsonl")
    res = diff(sim, real, names=("simulated kernel driver", "real edu from userspace"),
               polls=True)
    assert res.identical, res.render()
    assert set(res.sides[0].keys) == set(res.sides[1].keys) == {"1234:11e8 BAR0"}
    # and the same userspace driver through the simulated kernel's PCI sysfs
    from iomem.user import open_target

    with record(format="jsonl") as rec, open_target("sim:pc:pci:1234:11e8") as m:
        _guest_module().scenario(m)
    res = diff(list(rec.events()), real, polls=True)
    assert res.identical, res.render()
