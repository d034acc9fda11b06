"""Mutation testing of the graded test cells: every catalogued mistake written into the reference
solution must fail the notebook's graded cells (visible check and hidden tests as they are) with
the checks naming that mistake, and every correct alternative must pass.

The bar: >= 95% of the mutants killed, the right mistake named for >= 90%, no correct
alternative failed; the hidden tests alone kill >= 90% and fail no alternative."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutant_catalog import ALTERNATIVES, FUNCTIONS, MUTANTS, function_of  # noqa: E402
from mutation import NotebookRun, Variant, report, run_all, summarise  # noqa: E402

from course_lib.checks import layers, mlp_backprop, mnist_softmax, softmax_toy  # noqa: E402
from course_lib.checks.common import GENERIC_MISTAKES  # noqa: E402

CHECKS = {"layers": layers, "softmax_toy": softmax_toy, "mnist_softmax": mnist_softmax, "mlp_backprop": mlp_backprop}
# Names that say "fix the function checked before this one", not a mistake of this function.
META = {"softmax_forward_first", "loss_first"}


@pytest.fixture(scope="module")
def results():
    return run_all(MUTANTS + ALTERNATIVES)


def test_the_course_meets_the_mutation_bar(results):
    outcomes, runs = results
    print(report(outcomes, runs))
    s = summarise(outcomes)
    alive = [f"{o.variant.notebook}/{o.variant.cell} {o.variant.name}" for o in outcomes
             if o.variant.mistake and o.passed]
    failed = [f"{o.variant.notebook}/{o.variant.cell} {o.variant.name}: {o.error}" for o in outcomes
              if o.variant.mistake is None and not o.passed]
    assert s.killed_share >= 0.95, f"mutants alive: {alive}"
    assert s.right_share >= 0.90, [f"{o.variant.name}: expected {o.variant.mistake}, got {o.named}"
                                   for o in outcomes if o.variant.mistake and not o.right]
    assert s.alternatives_failed == 0, failed
    assert s.hidden_killed >= 0.90 * s.mutants
    assert s.hidden_alternatives_failed == 0, [o.variant.name for o in outcomes
                                               if o.variant.mistake is None and not o.hidden.passed]


def test_the_judges_meet_the_mutation_bar(results):
    """The pipeline's judges (run in-process on what each variant's functions return): >= 95%
    of the mutants killed, the catalogued mistake named for >= 90%, no correct alternative failed."""
    outcomes, _ = results
    s = summarise(outcomes)
    assert s.judge_killed >= 0.95 * s.mutants, [f"{o.variant.notebook}/{o.variant.name}" for o in outcomes
                                                 if o.variant.mistake and o.judged.passed]
    assert s.judge_right >= 0.90 * s.mutants, [f"{o.variant.name}: expected {o.variant.mistake}, got {o.judged.named}"
                                                for o in outcomes if o.variant.mistake and not o.judged.right]
    assert s.judge_alternatives_failed == 0, [f"{o.variant.notebook}/{o.variant.name}: {o.judged.error}" for o in outcomes
                                              if o.variant.mistake is None and not o.judged.passed]


def test_every_catalogued_mistake_has_a_mutant():
    for notebook, module in CHECKS.items():
        named = {v.mistake for v in MUTANTS if v.notebook == notebook}
        missing = set(module.MISTAKES) - set(GENERIC_MISTAKES) - META - named
        assert not missing, f"{notebook}: no mutant for {sorted(missing)}"
        unknown = named - set(module.MISTAKES) - set(GENERIC_MISTAKES)
        assert not unknown, f"{notebook}: mutants expect mistakes the checks do not know: {sorted(unknown)}"


def test_every_batch_family_mistake_is_catalogued_with_a_mutant():
    """The batch-versus-one-sample family (``BATCH_MISTAKES`` of the notebooks graded by this
    engineer's judges): each mistake is one of the module's, of a known kind, with a mutant."""
    from course_lib.checks.diagnose import BATCH_FAMILY

    for notebook in ("layers", "softmax_toy"):
        module = CHECKS[notebook]
        assert set(module.BATCH_MISTAKES) <= set(module.MISTAKES), notebook
        assert set(module.BATCH_MISTAKES.values()) <= set(BATCH_FAMILY), notebook
        named = {v.mistake for v in MUTANTS if v.notebook == notebook}
        assert set(module.BATCH_MISTAKES) <= named, sorted(set(module.BATCH_MISTAKES) - named)


def test_every_graded_function_has_six_named_mistakes_and_alternatives():
    for function in FUNCTIONS:
        mistakes = {v.mistake for v in MUTANTS if function_of(v) == function} - set(GENERIC_MISTAKES)
        assert len(mistakes) >= 6, f"{function}: only {sorted(mistakes)}"
        assert sum(function_of(v) == function for v in ALTERNATIVES) >= 2, f"{function}: fewer than 2 alternatives"
    assert {function_of(v) for v in MUTANTS + ALTERNATIVES} == set(FUNCTIONS)


def test_every_variant_changes_its_cell_and_is_valid_python():
    from IPython.core.inputtransformer2 import TransformerManager

    runs = {}
    for variant in MUTANTS + ALTERNATIVES:
        run = runs.setdefault(variant.notebook, NotebookRun(variant.notebook))
        original = run.cells[run.index(variant.cell)].source
        changed = variant.source(original)
        assert changed != original, f"{variant.notebook}/{variant.cell} {variant.name} changes nothing"
        compile(TransformerManager().transform_cell(changed), variant.name, "exec")
        assert variant.blank is not None and variant.blank < len(run.blanks(variant.cell))
    names = [(v.notebook, v.cell, v.name) for v in MUTANTS + ALTERNATIVES]
    assert len(names) == len(set(names)), "variant names repeat within a cell"


def test_the_harness_passes_the_reference_and_fails_a_wrong_alternative():
    """The runner can fail: the reference passes, a wrong 'alternative' fails, a mutant whose
    mistake is misnamed in the catalogue counts as killed but not named."""
    run = NotebookRun("layers")
    run.setup()
    reference = Variant("layers", "cce", "reference", "the solution itself", replace=[("EPS = 1e-12", "EPS = 1e-12")])
    assert run.run(reference).passed
    wrong = Variant("layers", "cce", "wrong", "the loss summed", {0: "return -np.sum(y * np.log(np.clip(yhat, EPS, 1)))"})
    outcome = run.run(wrong)
    assert not outcome.passed and outcome.cell == "cce_tests" and outcome.part == "visible"
    assert outcome.named == "cce_sum"
    misnamed = Variant("layers", "cce", "misnamed", "the loss summed", dict(wrong.blanks), mistake="cce_sign")
    outcome = run.run(misnamed)
    assert not outcome.passed and not outcome.right
    hidden = run.run(wrong, hidden_only=True)
    assert not hidden.passed and hidden.part == "hidden" and hidden.named is None
