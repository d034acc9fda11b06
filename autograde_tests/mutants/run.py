"""Run the graded test cells of the source notebooks against every mutant and every correct
alternative and print the table: ``python autograde_tests/mutants/run.py [notebook ...] [-q]``.

Exits non-zero when the course misses the bar (>= 95% of mutants killed, the right mistake
named for >= 90%, no correct alternative failed)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutant_catalog import ALTERNATIVES, MUTANTS  # noqa: E402
from mutation import report, run_all, summarise  # noqa: E402

KILLED_BAR, RIGHT_BAR = 0.95, 0.90


def main(argv: list[str]) -> int:
    notebooks = [a for a in argv if not a.startswith("-")]
    variants = [v for v in MUTANTS + ALTERNATIVES if not notebooks or v.notebook in notebooks]
    outcomes, runs = run_all(variants)
    print(report(outcomes, runs, verbose="-q" not in argv))
    s = summarise(outcomes)
    ok = s.killed_share >= KILLED_BAR and s.right_share >= RIGHT_BAR and s.alternatives_failed == 0
    print("bar met" if ok else f"bar NOT met (killed >= {KILLED_BAR:.0%}, named >= {RIGHT_BAR:.0%}, "
                               "0 alternatives failed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
