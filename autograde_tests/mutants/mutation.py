"""Mutation testing of the graded test cells of the course's source notebooks.

A *mutant* is a solution cell of a source notebook with one catalogued mistake written into it
(``mutant_catalog.MUTANTS``); an *alternative* is a differently written but correct solution
(``mutant_catalog.ALTERNATIVES``). For each notebook the runner executes the notebook's code
cells in order in one namespace (IPython's input transformer, in-process, from the notebook's
folder) with the reference solutions, and keeps a snapshot of the namespace before every
solution cell. A variant then starts from the snapshot before its cell, runs its edited cell,
and runs every later graded test cell of the notebook exactly as it is (visible check and hidden
tests), with the later solution cells in their reference form in between.

A mutant is *killed* when a graded cell fails; the first failing cell's error gives the message
and the mistake named (``error.mistake``; a failure in the hidden part without a name counts as
killed with no name). An alternative must pass every graded cell.

A second pass runs only the hidden tests of the graded cells (``hidden_only``): what the
autograder's hidden tests catch on their own, without the visible checks in front of them."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from course_lib.grading.demos import is_demo

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT / "tests"))  # nbtools: blank markers and release
from nbtools import blank_lines, fill_blank  # noqa: E402

HIDDEN = "### BEGIN HIDDEN TESTS"
TIME_LIMIT = 20.0  # seconds per variant; a variant that takes longer is killed by a timeout


@dataclass
class Variant:
    """A solution cell rewritten: ``blanks`` maps a blank's index to the code that fills it
    (unindented, one or more lines); ``replace`` holds (old, new) substitutions on the cell
    source (each ``old`` must occur). ``blank`` is the index of the blank the variant is about."""
    notebook: str
    cell: str
    name: str
    what: str
    blanks: dict[int, str] = field(default_factory=dict)
    replace: list[tuple[str, str]] = field(default_factory=list)
    blank: int | None = None
    mistake: str | None = None  # the mistake the checks should name; None for an alternative

    def __post_init__(self):
        if self.blank is None and self.blanks:
            self.blank = min(self.blanks)

    def source(self, original: str) -> str:
        text = original
        for old, new in self.replace:
            if old not in text:
                raise ValueError(f"{self.notebook}/{self.cell} {self.name}: {old!r} is not in the cell")
            text = text.replace(old, new)
        # Fill the highest blank first so earlier blanks keep their line numbers.
        for index in sorted(self.blanks, reverse=True):
            text = fill_blank(text, index, self.blanks[index])
        return text


@dataclass
class Outcome:
    variant: Variant
    passed: bool
    cell: str | None = None  # the graded cell that failed
    part: str | None = None  # "visible" or "hidden"
    named: str | None = None  # error.mistake of the failure
    error: str = ""  # the error type and message
    seconds: float = 0.0
    hidden: Outcome | None = None  # the same variant against the hidden tests alone
    judged: Outcome | None = None  # the same variant judged by the assignment's judge (as the pipeline does)

    @property
    def right(self) -> bool:
        return not self.passed and self.named == self.variant.mistake


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise ``_Timeout`` in the block after ``seconds`` of wall time."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


class NotebookRun:
    """One source notebook: its cells, and the namespace snapshots before each solution cell."""

    def __init__(self, notebook: str):
        self.notebook = notebook
        self.path = NOTEBOOKS / notebook / f"{notebook}.ipynb"
        nb = nbformat.read(self.path, as_version=4)
        self.cells = [c for c in nb.cells if c.cell_type == "code"]
        self.ids = [_meta(c).get("grade_id") for c in self.cells]
        graded = [i for i, c in enumerate(self.cells) if _meta(c).get("grade")]
        self.last_graded = max(graded)
        self.transform = TransformerManager().transform_cell
        self.snapshots: dict[str, dict] = {}
        self.setup_seconds = 0.0

    def index(self, grade_id: str) -> int:
        return self.ids.index(grade_id)

    def blanks(self, grade_id: str) -> list[str]:
        return [text for *_, text in blank_lines(self.cells[self.index(grade_id)].source)]

    def _exec(self, source: str, name: str, namespace: dict) -> None:
        code = compile(self.transform(source), f"<{self.notebook}:{name}>", "exec")
        exec(code, namespace)  # noqa: S102 - the notebook's own cells

    @contextlib.contextmanager
    def _quiet(self):
        old = os.getcwd()
        os.chdir(self.path.parent)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            os.chdir(old)

    def setup(self) -> None:
        """Run the notebook with its reference solutions up to its last graded cell, keeping a
        snapshot of the namespace before each solution cell; every graded cell must pass."""
        start = time.perf_counter()
        matplotlib.use("Agg")  # figures of the setup cells are drawn, never shown
        namespace: dict = {"__name__": "__main__"}
        with self._quiet():
            for i, cell in enumerate(self.cells[:self.last_graded + 1]):
                if _meta(cell).get("solution"):
                    self.snapshots[self.ids[i]] = dict(namespace)
                self._exec(cell.source, self.ids[i] or f"cell{i}", namespace)
        self.setup_seconds = time.perf_counter() - start

    def run(self, variant: Variant, hidden_only: bool = False) -> Outcome:
        """Run ``variant`` from the snapshot before its cell through the last graded cell (with
        ``hidden_only``, only the hidden-test part of each graded cell)."""
        start_index = self.index(variant.cell)
        namespace = dict(self.snapshots[variant.cell])
        start = time.perf_counter()
        outcome = Outcome(variant, passed=True)
        current, source = variant.cell, ""
        try:
            with _time_limit(TIME_LIMIT), self._quiet():
                source = variant.source(self.cells[start_index].source)
                self._exec(source, variant.cell, namespace)
                for i in range(start_index + 1, self.last_graded + 1):
                    meta = _meta(self.cells[i])
                    if meta.get("solution") or meta.get("grade") or not is_demo(self.cells[i]):
                        current, source = self.ids[i], self.cells[i].source
                        if hidden_only and meta.get("grade"):
                            source = source[source.index(HIDDEN):]
                        self._exec(source, current, namespace)
        except _Timeout:
            outcome = Outcome(variant, False, current, "timeout", "timeout", f"took longer than {TIME_LIMIT:g} s")
        except BaseException as error:  # noqa: BLE001 - any failure of a graded cell is a kill
            outcome = Outcome(variant, False, current, self._part(error, current, source),
                              getattr(error, "mistake", None), f"{type(error).__name__}: {error}")
        outcome.seconds = time.perf_counter() - start
        if outcome.cell == variant.cell and outcome.part is not None:
            outcome.part = "solution cell"  # the edited cell itself failed to run
        return outcome

    def judge(self, variant: Variant) -> Outcome:
        """``variant`` judged as the pipeline judges it: its cell and the later answer cells run,
        then every graded cell's checks of ``course_lib.judges.<notebook>`` replay what the
        functions return (the probe answered in-process). ``named``: the mistake of the first
        failed check in the cells after the variant's own."""
        import importlib

        from course_lib import probe, probe_codec
        from course_lib.grading.judge import judge_cell

        judge = importlib.import_module(f"course_lib.judges.{self.notebook}").JUDGE
        start_index = self.index(variant.cell)
        namespace = dict(self.snapshots[variant.cell])
        start = time.perf_counter()
        outcome = Outcome(variant, passed=True)
        try:
            with _time_limit(TIME_LIMIT), self._quiet():
                self._exec(variant.source(self.cells[start_index].source), variant.cell, namespace)
                answer = lambda request, nonce: probe_codec.unpack(probe.answer(namespace, request), 1 << 28)
                # As the pipeline does: each graded cell is judged right after the cells before it ran.
                for i in range(start_index + 1, self.last_graded + 1):
                    meta = _meta(self.cells[i])
                    if meta.get("grade"):
                        failed = [v for v in judge_cell(judge.cells[self.ids[i]], judge.reference, answer) if not v.passed]
                        if failed and outcome.passed:
                            outcome = Outcome(variant, False, self.ids[i], "judge", failed[0].mistake, failed[0].message)
                        if failed and any(v.mistake == variant.mistake for v in failed):
                            outcome.named = variant.mistake
                        if not outcome.passed and outcome.named == variant.mistake:
                            break  # failed, and named as expected: no later cell changes either
                    elif meta.get("solution") or not is_demo(self.cells[i]):
                        self._exec(self.cells[i].source, self.ids[i], namespace)
        except _Timeout:
            outcome = Outcome(variant, False, variant.cell, "timeout", "timeout", f"took longer than {TIME_LIMIT:g} s")
        except BaseException as error:  # noqa: BLE001 - the variant's own cell failed to run
            outcome = Outcome(variant, False, variant.cell, "solution cell", getattr(error, "mistake", None), f"{type(error).__name__}: {error}")
        outcome.seconds = time.perf_counter() - start
        return outcome

    def _part(self, error: BaseException, grade_id: str, source: str) -> str:
        """Whether the failure came from the visible or the hidden part of the graded cell."""
        hidden_line = next((n for n, line in enumerate(source.splitlines(), 1) if line.startswith(HIDDEN)), None)
        lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
                 if frame.filename == f"<{self.notebook}:{grade_id}>"]
        if not lines or hidden_line is None:
            return "visible"
        return "hidden" if lines[-1] > hidden_line else "visible"


def run_all(variants: list[Variant]) -> tuple[list[Outcome], dict[str, NotebookRun]]:
    """Every variant's outcome (``outcome.hidden``: the outcome of the hidden tests alone), and
    the notebook runs (with their setup times)."""
    runs: dict[str, NotebookRun] = {}
    outcomes = []
    for variant in variants:
        if variant.notebook not in runs:
            runs[variant.notebook] = NotebookRun(variant.notebook)
            runs[variant.notebook].setup()
        outcome = runs[variant.notebook].run(variant)
        outcome.hidden = runs[variant.notebook].run(variant, hidden_only=True)
        outcome.judged = runs[variant.notebook].judge(variant)
        outcomes.append(outcome)
    return outcomes, runs


# --- the report --------------------------------------------------------------------------------

@dataclass
class Summary:
    mutants: int
    killed: int
    right: int
    alternatives: int
    alternatives_failed: int
    hidden_killed: int = 0
    hidden_alternatives_failed: int = 0
    judge_killed: int = 0
    judge_right: int = 0
    judge_alternatives_failed: int = 0

    @property
    def killed_share(self) -> float:
        return self.killed / self.mutants if self.mutants else 1.0

    @property
    def right_share(self) -> float:
        return self.right / self.mutants if self.mutants else 1.0


def summarise(outcomes: list[Outcome]) -> Summary:
    mutants = [o for o in outcomes if o.variant.mistake is not None]
    alternatives = [o for o in outcomes if o.variant.mistake is None]
    return Summary(len(mutants), sum(not o.passed for o in mutants), sum(o.right for o in mutants),
                   len(alternatives), sum(not o.passed for o in alternatives),
                   sum(o.hidden is not None and not o.hidden.passed for o in mutants),
                   sum(o.hidden is not None and not o.hidden.passed for o in alternatives),
                   sum(o.judged is not None and not o.judged.passed for o in mutants),
                   sum(o.judged is not None and o.judged.right for o in mutants),
                   sum(o.judged is not None and not o.judged.passed for o in alternatives))


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def report(outcomes: list[Outcome], runs: dict[str, NotebookRun], *, verbose: bool = True) -> str:
    """The table: mutants killed per blank, the message each got, and failed alternatives."""
    out = []
    mutants = [o for o in outcomes if o.variant.mistake is not None]
    alternatives = [o for o in outcomes if o.variant.mistake is None]
    out.append("Mutants killed per blank")
    out.append(f"{'notebook':<14} {'cell':<18} {'blank':<42} {'mutants':>7} {'killed':>7} {'named':>6} "
               f"{'hidden':>6}")
    groups: dict[tuple, list[Outcome]] = {}
    for o in mutants:
        run = runs[o.variant.notebook]
        blanks = run.blanks(o.variant.cell)
        blank = blanks[o.variant.blank] if o.variant.blank is not None else "(whole cell)"
        groups.setdefault((o.variant.notebook, o.variant.cell, blank), []).append(o)
    for (notebook, cell, blank), group in groups.items():
        out.append(f"{notebook:<14} {cell:<18} {_short(blank, 42):<42} {len(group):>7} "
                   f"{sum(not o.passed for o in group):>7} {sum(o.right for o in group):>6} "
                   f"{sum(o.hidden is not None and not o.hidden.passed for o in group):>6}")
    out.append("(killed: by the graded cells as they are; named: with the expected mistake; hidden: by the "
               "hidden tests alone)")
    if verbose:
        out.append("")
        out.append("Each mutant [named: killed with the expected mistake; killed: with another name; ALIVE]: "
                   "expected mistake -> named by the checks (graded cell, part): message")
        for o in mutants:
            mark = "named" if o.right else ("killed" if not o.passed else "ALIVE")
            where = f"{o.cell}, {o.part}" if not o.passed else "all graded cells passed"
            hidden = "" if o.hidden is None or not o.hidden.passed else " [hidden tests alone: ALIVE]"
            out.append(f"  [{mark:<6}] {o.variant.notebook}/{o.variant.cell} {o.variant.name}: "
                       f"{o.variant.mistake} -> {o.named} ({where}): {_short(o.error, 150)}{hidden}")
    out.append("")
    out.append("Correct alternatives")
    for o in alternatives:
        status = "pass" if o.passed else f"FAILED in {o.cell} ({o.part}): {_short(o.error, 150)}"
        if o.hidden is not None and not o.hidden.passed:
            status += f"; hidden tests alone FAILED in {o.hidden.cell}: {_short(o.hidden.error, 150)}"
        out.append(f"  {o.variant.notebook}/{o.variant.cell} {o.variant.name} ({o.variant.what}): {status}")
    s = summarise(outcomes)
    out.append("")
    setup = ", ".join(f"{name} {run.setup_seconds:.1f} s" for name, run in runs.items())
    out.append(f"setup: {setup}; variants: {sum(o.seconds for o in outcomes):.1f} s")
    out.append(f"mutants: {s.mutants}, killed {s.killed} ({s.killed_share:.1%}), right mistake named "
               f"{s.right} ({s.right_share:.1%}); alternatives: {s.alternatives}, failed {s.alternatives_failed}")
    out.append(f"hidden tests alone: killed {s.hidden_killed} of {s.mutants} mutants "
               f"({s.hidden_killed / max(s.mutants, 1):.1%}), failed {s.hidden_alternatives_failed} alternatives")
    return "\n".join(out)
