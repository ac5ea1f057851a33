"""The pitfall gallery as tests: for every rule, the broken driver shows its symptom and
makes the rule fire (and only the rules it breaks), the corrected driver runs clean under
every memory model, with the same outcome under each."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from iomem.check import RULES
from iomem.check.runner import KERNEL_STOPS, Session, run_script
from iomem.kernel.io import KernelOops, SparseError

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "pitfalls"

#: rules whose broken driver stops the way the kernel would: the stop is the symptom
STOPS: dict[str, type[BaseException]] = {
    "iomem-as-pointer": SparseError,
    "int-as-iomem": SparseError,
    "unchecked-result": KernelOops,
    "use-after-iounmap": KernelOops,
    "access-unaligned": KernelOops,
}
#: other reports a broken driver earns besides its own rule (its symptom, or a second slip)
ALSO: dict[str, set[str]] = {
    "bad-iounmap": {"leak-mapping"},  # the mapping iounmap did not free stays
    "release-unrequested": {"leak-region"},  # the real claim stays
    "ioremap-spans-resources": {"ioremap-unclaimed"},  # two devices cannot be claimed as one
}


def _load(rule_id: str, kind: str) -> ModuleType:
    path = GALLERY / f"{rule_id.replace('-', '_')}_{kind}.py"
    spec = importlib.util.spec_from_file_location(f"pitfall_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(rule_id: str, kind: str, model: str = "adversarial"):
    """(outcome or the exception that stopped it, reports)."""
    mod = _load(rule_id, kind)
    with Session(model) as session:
        try:
            _k, outcome = mod.main(model)
        except KERNEL_STOPS as e:
            session.note_exception(e)
            outcome = e
    return outcome, session.finish()


RULE_IDS = sorted(RULES)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_has_a_broken_and_a_corrected_driver(rule_id: str) -> None:
    for kind in ("bad", "good"):
        assert (GALLERY / f"{rule_id.replace('-', '_')}_{kind}.py").is_file()


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_broken_driver_fires_its_rule(rule_id: str, capsys: pytest.CaptureFixture) -> None:
    outcome, reports = _run(rule_id, "bad")
    fired = [r for r in reports if r.rule == rule_id]
    assert fired, f"{rule_id} did not fire; got {[r.rule for r in reports]}"
    rep = fired[0]
    assert rep.severity == RULES[rule_id].severity
    assert rep.site.file is not None and rep.site.file.endswith(
        f"{rule_id.replace('-', '_')}_bad.py"), rep.site
    assert rep.fix and rep.doc
    assert {r.rule for r in reports} <= {rule_id} | ALSO.get(rule_id, set())
    if rule_id in STOPS:
        assert isinstance(outcome, STOPS[rule_id])
    capsys.readouterr()


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_broken_driver_shows_the_symptom(rule_id: str,
                                             capsys: pytest.CaptureFixture) -> None:
    bad, _ = _run(rule_id, "bad")
    good, _ = _run(rule_id, "good")
    if rule_id in STOPS:
        assert isinstance(bad, STOPS[rule_id]) and not isinstance(good, BaseException)
    else:
        assert bad != good
    capsys.readouterr()


@pytest.mark.parametrize("model", ["strict", "realistic", "adversarial"])
@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_corrected_driver_runs_clean_with_one_outcome(rule_id: str, model: str,
                                                         capsys: pytest.CaptureFixture) -> None:
    outcome, reports = _run(rule_id, "good", model)
    assert reports == [], "\n".join(r.text() for r in reports)
    reference, _ = _run(rule_id, "good", "strict")
    assert outcome == reference
    capsys.readouterr()


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_iomem_run_check_exit_status(rule_id: str, capsys: pytest.CaptureFixture) -> None:
    stem = rule_id.replace("-", "_")
    bad = run_script(str(GALLERY / f"{stem}_bad.py"))
    good = run_script(str(GALLERY / f"{stem}_good.py"))
    assert rule_id in {r.rule for r in bad.reports}
    assert bool(bad.errors) == (RULES[rule_id].severity == "error")
    assert good.reports == [] and good.status == 0
    capsys.readouterr()
