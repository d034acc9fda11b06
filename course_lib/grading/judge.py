"""The judge: scores a graded cell in the grader's own process from what the student's code
returned in the kernel, as a list of named checks with partial credit.

An assignment's judge (``course_lib/judges/<assignment>.py``, instructor code like the
solutions: never in the student bundle nor in the sandbox) lists, for each graded cell, its
checks: functions of a ``student`` view (``student.cce(...)``, ``student.Softmax()``) that
raise ``CheckFailure`` naming a catalogued mistake. The pipeline runs them on stand-ins that
replay the kernel's probe replies (``course_lib.grading.standins``); plain nbgrader's hidden
tests run the same checks on the live notebook (``AssignmentJudge.assert_cell``).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.checks.common import CheckFailure
from course_lib.checks.diagnose import replaced_note, scrub, translate_error
from course_lib.grading.records import CheckVerdict
from course_lib.grading.standins import Pending, Session, StudentView, trace_key

MAX_ROUNDS = 8
MESSAGE_LIMIT = 600


@dataclass(frozen=True)
class Check:
    """One named check of a graded cell; ``weight`` is its share of the cell's points."""

    name: str
    run: Callable[[object], None]
    weight: float = 1.0


@dataclass(frozen=True)
class CellJudge:
    """A graded cell's checks; ``names`` are the notebook's functions and classes it grades: a
    failed check also says when one of them was rebound to something else (``replaced_note``)."""

    grade_id: str
    checks: tuple[Check, ...]
    names: tuple[str, ...] = ()


@dataclass
class AssignmentJudge:
    """The checks of every graded cell of an assignment and the instructor's references (the
    names the checks call, mapped to the reference solution) used to plan the probes."""

    assignment: str
    cells: dict[str, CellJudge]
    reference: dict[str, object] = field(default_factory=dict)
    # What the checks keep for every submission a process grades (the mnist judge's copy of the
    # data and its reference tables): a pool worker builds it while its first kernel starts.
    warm: Callable[[], object] | None = None

    def assert_cell(self, grade_id: str, namespace: dict) -> None:
        """Plain nbgrader's hidden test: run the cell's checks on the live notebook ``namespace``
        and raise an AssertionError naming every failed check."""
        cell, view = self.cells[grade_id], LiveView(namespace)
        verdicts = _noted([_outcome(check, view) for check in cell.checks], _descriptions(cell, view))
        failed = [v for v in verdicts if not v.passed]
        if failed:
            raise AssertionError("; ".join(f"{v.name}: {v.message}" for v in failed))
        print(f"\u2714 {grade_id}: {len(verdicts)} hidden checks passed")


class LiveView:
    """``student.<name>`` is the notebook's own object (plain nbgrader trusts the kernel)."""

    def __init__(self, namespace: dict):
        self._namespace = namespace

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._namespace:
            raise NameError(f"name {name!r} is not defined")
        return self._namespace[name]

    def helper(self, helper: str, target: str):
        from course_lib.judges import known_good
        from course_lib.probe import _helpers

        function = _helpers(known_good)[helper]
        return lambda *args, **kwargs: function(getattr(self, target), *args, **kwargs)


def _undefined(verdict: CheckVerdict) -> CheckVerdict:
    """A name the notebook never defined is said in words (an unfilled blank, most often)."""
    if verdict.passed or "blank not filled yet" not in verdict.message:
        return verdict
    return CheckVerdict(verdict.name, verdict.weight, False, "missing", verdict.message)


def _outcome(check: Check, student) -> CheckVerdict:
    """Run one check; a CheckFailure is the named mistake, any other exception of the student's
    code (replayed) is ``raised``, said in words (``diagnose.translate``). ``Pending`` passes through."""
    return _undefined(_run_check(check, student))


def _said(message: str) -> str:
    return scrub(message)[:MESSAGE_LIMIT]


def _run_check(check: Check, student) -> CheckVerdict:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the visible checks' printed lines
            check.run(student)
    except CheckFailure as error:
        return CheckVerdict(check.name, check.weight, False, error.mistake, _said(str(error)))
    except AssertionError as error:
        return CheckVerdict(check.name, check.weight, False, "wrong_value", _said(str(error) or "a check failed"))
    except NameError as error:
        return CheckVerdict(check.name, check.weight, False, "missing", _said(translate_error(error)))
    except Exception as error:  # noqa: BLE001 - the student's replayed exception, or what it caused
        return CheckVerdict(check.name, check.weight, False, "raised", _said(f"raised {translate_error(error)}"))
    return CheckVerdict(check.name, check.weight, True, None, "passed")


def _descriptions(cell: CellJudge, student) -> dict[str, dict | None]:
    """What each of the cell's ``names`` is bound to in the notebook (``diagnose.describe``, run in
    the kernel by the probe's ``describe`` helper); None when it is not defined. ``Pending`` passes."""
    found: dict[str, dict | None] = {}
    for name in cell.names:
        try:
            description = student.helper("describe", name)(name)
        except Exception:  # noqa: BLE001 - not defined: the checks themselves say so
            description = None
        found[name] = description if isinstance(description, dict) else None
    return found


def _noted(verdicts: list[CheckVerdict], descriptions: dict[str, dict | None]) -> list[CheckVerdict]:
    """Failed verdicts with a note naming each graded name that was replaced; still judged by behaviour."""
    note = "".join(replaced_note(d, name) for name, d in descriptions.items())
    if not note:
        return verdicts
    room = max(0, MESSAGE_LIMIT - len(note))
    return [v if v.passed or v.mistake in ("not_run", "missing") else
            CheckVerdict(v.name, v.weight, v.passed, v.mistake, v.message[:room] + note[:MESSAGE_LIMIT]) for v in verdicts]


class ProbeError(RuntimeError):
    """The probe could not run or its reply was unusable; the message says why in words."""


def judge_cell(cell: CellJudge, reference: dict, probe: Callable[[bytes, str], tuple[dict, dict]] | None) -> list[CheckVerdict]:
    """The verdicts of ``cell``'s checks; ``probe(request, nonce)`` runs a request in the kernel
    and returns the reply's header and arrays (``None``: the kernel is gone)."""
    session = Session(reference)
    for _ in range(MAX_ROUNDS):
        verdicts: list[CheckVerdict | None] = []
        for check in cell.checks:
            try:
                verdicts.append(_outcome(check, StudentView(session)))
            except Pending:
                verdicts.append(None)
        try:
            descriptions = _descriptions(cell, StudentView(session))
        except Pending:
            descriptions = {}
        if not session.needed:
            return _noted([v for v in verdicts if v is not None], descriptions)
        if probe is None:
            return _unjudged(cell, "your code could not be run (the notebook stopped before this test)")
        nonce = secrets.token_hex(8)
        sent = list(session.needed.values())
        request = session.request(nonce)
        try:
            header, arrays = probe(request, nonce)
        except ProbeError as error:
            return _unjudged(cell, str(error))
        session.absorb(header, arrays, sent)
        missing = [s["key"] for s in sent if not _answered(session, s)]
        if missing:
            return _unjudged(cell, "the probe's reply was incomplete")
    return _unjudged(cell, "the checks needed more probe rounds than allowed")


def _answered(session: Session, step: dict) -> bool:
    if step["kind"] == "object":
        return trace_key(step["class"], step["prefix"]) in session.replies
    return step["key"] in session.replies


def _unjudged(cell: CellJudge, why: str) -> list[CheckVerdict]:
    return [CheckVerdict(c.name, c.weight, False, "not_run", why[:MESSAGE_LIMIT]) for c in cell.checks]


def load_judge(path: Path) -> AssignmentJudge:
    """The ``JUDGE`` of a judge module file, loaded once per process and content: a grading
    process's later submissions reuse it, with whatever it keeps for itself (the mnist judge's
    own copy of the data, its reference tables), and an edited file is loaded afresh."""
    source = Path(path).read_bytes()
    return _load_judge(str(Path(path).resolve()), hashlib.sha256(source).hexdigest())


@functools.lru_cache(maxsize=8)
def _load_judge(path: str, sha256: str) -> AssignmentJudge:
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"course_lib_judge_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no judge module at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    judge = getattr(module, "JUDGE", None)
    if not isinstance(judge, AssignmentJudge):
        raise ValueError(f"{path} defines no JUDGE = AssignmentJudge(...)")
    return judge
