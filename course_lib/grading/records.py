"""The typed records passed between the grading stages (read -> restore -> run -> judge ->
record) and stored as each submission's ``results/<student>.json``."""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


class Status(str, enum.Enum):
    """How grading a submission ended."""

    GRADED = "graded"
    INVALID = "invalid"  # not a readable notebook
    TOO_BIG = "too big"  # over the size limits before anything ran
    ERROR = "error"  # the grader could not grade it (kernel did not start, worker crashed)
    # Rows of the reports for what the submissions folder holds that is not a gradable
    # submission; never graded, never written to the gradebook:
    MISSING = "missing"  # a student (a folder, or a student of the gradebook) with no file of the assignment
    NOT_NOTEBOOK = "not a notebook"  # a student's files hold no .ipynb
    BAD_ID = "bad id"  # a name that cannot be a student id


class CellStatus(str, enum.Enum):
    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"
    NOT_RUN = "not run"


class FlagKind(str, enum.Enum):
    """What the source scan noticed; a note for the instructor, never a score."""

    SOLUTIONS = "solutions"
    CHECKS = "checks"
    FILES = "files"
    TAMPER = "tamper"


@dataclass(frozen=True)
class CellLimits:
    """Time limits of running one notebook (seconds) and the size of a probe's reply (bytes);
    the size limits of outputs are in ``execute``, those of a submission in ``bounds``."""

    cell_timeout: float = 20.0
    budget: float = 120.0
    probe_reply: int = 3 * 1024**2  # bytes of a probe's reply (npz), within the kernel's cut of a message


@dataclass(frozen=True)
class Task:
    """One submission to grade, with everything the worker needs."""

    student: str
    assignment: str
    path: str
    source: str
    release: str
    judge: str
    out: str
    tree: str
    kernels: str
    data: str
    key: str
    limits: CellLimits = CellLimits()
    ports: tuple[int, ...] | None = None
    nbgrader_autograded: str | None = None
    sandbox: bool = True  # False: --no-sandbox, the kernel runs as the grader's own user
    memory: int = 3 * 1024**3
    skip_demos: bool = True  # False: the course's demo-only cells run too (see grading/demos.py)
    submitted_at: str | None = None  # nbgrader's submission time (timestamp.txt) as ISO UTC
    late_policy: tuple[str, float] | None = None  # the deadline (ISO) and the fraction lost per day late
    prestart: bool = False  # more submissions follow in this process: start the next one's kernel now (grading/spare.py)


@dataclass(frozen=True)
class CheckVerdict:
    """One named check of a graded cell: passed or the mistake it found, in words."""

    name: str
    weight: float
    passed: bool
    mistake: str | None
    message: str


@dataclass
class CellResult:
    grade_id: str
    points: float
    score: float
    status: CellStatus
    message: str
    checks: list[CheckVerdict] = field(default_factory=list)

    @classmethod
    def from_verdicts(cls, grade_id: str, points: float, verdicts: list[CheckVerdict]) -> CellResult:
        """Points shared among the checks by weight: "3 of 4 checks passed"."""
        total = sum(v.weight for v in verdicts)
        earned = sum(v.weight for v in verdicts if v.passed)
        score = round(points * earned / total, 4) if total > 0 else 0.0
        passed = sum(v.passed for v in verdicts)
        if verdicts and passed == len(verdicts):
            return cls(grade_id, points, score, CellStatus.PASSED, f"all {len(verdicts)} checks passed", verdicts)
        if verdicts and all(v.mistake == "not_run" for v in verdicts):
            return cls(grade_id, points, 0.0, CellStatus.NOT_RUN, verdicts[0].message, verdicts)
        first = next((v for v in verdicts if not v.passed), None)
        status = CellStatus.PARTIAL if score > 0 else CellStatus.FAILED
        summary = f"{passed} of {len(verdicts)} checks passed" + (f"; {first.name}: {first.message}" if first else "")
        return cls(grade_id, points, score, status, summary, verdicts)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CellResult:
        checks = [CheckVerdict(**c) for c in data.get("checks", [])]
        return cls(data["grade_id"], float(data["points"]), float(data["score"]), CellStatus(data["status"]),
                   data.get("message", ""), checks)


@dataclass
class Result:
    """A graded submission."""

    student: str
    assignment: str
    status: Status
    cells: list[CellResult]
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    retried: str | None = None
    key: str = ""
    sandboxed: bool = True
    judge_seconds: float = 0.0  # of ``seconds``: the probes and the judge
    submitted_at: str | None = None  # nbgrader's submission time, ISO UTC
    late_days: int = 0
    late_penalty: float = 0.0  # points taken by the late policy (grading/late.py)

    @property
    def score(self) -> float:
        """The graded cells' points, before any late penalty."""
        return round(sum(c.score for c in self.cells), 4)

    @property
    def final_score(self) -> float:
        """The score less the late penalty (never below 0)."""
        return round(max(0.0, self.score - self.late_penalty), 4)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells)

    def cell(self, grade_id: str) -> CellResult:
        return next(c for c in self.cells if c.grade_id == grade_id)

    def to_dict(self) -> dict:
        return {"student": self.student, "assignment": self.assignment, "status": self.status.value,
                "cells": [c.to_dict() for c in self.cells], "score": self.score, "max_score": self.max_score,
                "flags": list(self.flags), "notes": list(self.notes), "seconds": self.seconds,
                "retried": self.retried, "key": self.key, "sandboxed": self.sandboxed, "judge_seconds": self.judge_seconds,
                "submitted_at": self.submitted_at, "late_days": self.late_days, "late_penalty": self.late_penalty,
                "final_score": self.final_score}

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        return cls(data["student"], data["assignment"], Status(data["status"]),
                   [CellResult.from_dict(c) for c in data["cells"]], list(data.get("flags", [])),
                   list(data.get("notes", [])), float(data.get("seconds", 0.0)), data.get("retried"),
                   data.get("key", ""), bool(data.get("sandboxed", True)), float(data.get("judge_seconds", 0.0)),
                   data.get("submitted_at"), int(data.get("late_days", 0)), float(data.get("late_penalty", 0.0)))
