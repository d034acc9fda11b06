"""The late policy: a deadline and a penalty per day late, per assignment (``course.toml``).

A submission made after the deadline loses ``late_penalty_per_day`` (a fraction of the
assignment's points) for every day late, days rounded up: 1 second late is 1 day, 24 h 1 s is
2 days. The score is floored at 0 (the penalty never takes more than the score). Without a
deadline, or without a submission time (a bare ``<student>.ipynb``), nothing is taken.

The penalty is nbgrader's own: ``SubmittedNotebook.late_submission_penalty`` in the gradebook
(the formgrader and ``nbgrader export`` show it), the assignment's ``duedate`` is the deadline,
and ``CoursePenalty`` is the ``LateSubmissionPlugin`` plain ``nbgrader autograde`` applies
through ``nbgrader_config.py``.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode

DAY = 86400.0


class PolicyError(ValueError):
    """The course's late policy file is wrong; says where and why."""


@dataclass(frozen=True)
class LatePolicy:
    """An assignment's deadline (aware datetime) and the fraction of its points lost per day late."""

    deadline: datetime
    per_day: float

    def days_late(self, submitted: datetime) -> int:
        """Whole days after the deadline, rounded up (0 when on time)."""
        seconds = (as_utc(submitted) - as_utc(self.deadline)).total_seconds()
        return math.ceil(seconds / DAY) if seconds > 0 else 0

    def penalty(self, days: int, score: float, max_score: float) -> float:
        """Points taken for ``days`` days late: ``days * per_day`` of ``max_score``, at most ``score``."""
        return round(min(max(score, 0.0), days * self.per_day * max_score), 4) if days > 0 else 0.0


@dataclass(frozen=True)
class Late:
    """What the policy did to one submission."""

    days: int
    fraction: float  # of the assignment's points, before the floor
    points: float  # points taken (after the floor at 0)

    def text(self, max_score: float) -> str:
        """``submitted 2 days late: −20% of the 6 points, −1.2 points``."""
        days = f"{self.days} day" + ("" if self.days == 1 else "s")
        text = f"submitted {days} late: \u2212{self.fraction * 100:g}% of the {max_score:g} points, \u2212{self.points:g} points"
        if self.points < round(self.fraction * max_score, 4):
            text += " (the score is floored at 0)"
        return text


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC, as nbgrader stores them)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def apply(policy: LatePolicy | None, submitted: datetime | None, score: float, max_score: float) -> Late | None:
    """The penalty of a submission made at ``submitted``; None when there is no policy or no time."""
    if policy is None or submitted is None:
        return None
    days = policy.days_late(submitted)
    if days == 0:
        return None
    return Late(days, round(days * policy.per_day, 6), policy.penalty(days, score, max_score))


def read_policies(path: Path | None) -> dict[str, LatePolicy]:
    """The late policies of ``course.toml`` (``[assignments.<name>]`` with ``deadline``, a TOML
    datetime with its offset, and ``late_penalty_per_day``, a fraction in [0, 1]); {} without the file."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    policies, problems = {}, []
    for name, spec in (data.get("assignments") or {}).items():
        if not isinstance(spec, dict):
            problems.append(f"[assignments.{name}] must be a table")
            continue
        deadline, per_day = spec.get("deadline"), spec.get("late_penalty_per_day", 0.0)
        if deadline is None:
            if "late_penalty_per_day" in spec:
                problems.append(f"[assignments.{name}]: late_penalty_per_day without a deadline")
            continue
        if not isinstance(deadline, datetime) or deadline.tzinfo is None:
            problems.append(f"[assignments.{name}]: deadline must be a TOML date-time with its offset, "
                            f"e.g. 2026-12-14T23:59:00+01:00 (got {deadline!r})")
            continue
        if isinstance(per_day, bool) or not isinstance(per_day, (int, float)) or not 0 <= per_day <= 1:
            problems.append(f"[assignments.{name}]: late_penalty_per_day must be a fraction from 0 to 1, "
                            f"e.g. 0.1 for 10% of the points per day (got {per_day!r})")
            continue
        policies[name] = LatePolicy(deadline, float(per_day))
    if problems:
        raise PolicyError(f"{path}: " + "; ".join(problems))
    return policies


class CoursePenalty(LateSubmissionPlugin):
    """nbgrader's late-penalty hook with the course's policy, for plain ``nbgrader autograde``
    (``c.AssignLatePenalties.plugin_class`` in nbgrader_config.py): the same days rounded up,
    the same fraction of the notebook's points, the same floor."""

    policy_file = Unicode("", help="the course's course.toml (its late policies)").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        from nbgrader.api import Gradebook

        assignment, notebook = self.parent.assignment_id, self.parent.notebook_id
        policy = read_policies(Path(self.policy_file) if self.policy_file else None).get(assignment)
        if policy is None or total_seconds_late <= 0:
            return None
        with Gradebook(self.parent.db_url) as gb:
            max_score = gb.find_notebook(notebook, assignment).max_score
        days = math.ceil(total_seconds_late / DAY)
        return policy.penalty(days, score, max_score)
