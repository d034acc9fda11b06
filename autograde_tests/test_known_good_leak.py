"""A probe that needs known-good code is sent only the definitions it uses. The attack
(``attacks/softmax_toy_known_good_leak.ipynb``, the reference's answers plus about 20 lines) reads
the probe's request from the kernel's execute message while the L2 loss is judged, keeps the
known-good source and prints it from the next graded cells, whose output the feedback shows. On the
code before, that printed the whole of ``course_lib/judges/known_good.py`` into the student's
feedback: the answers of the mnist, MLP and layers notebooks. Now it holds the toy notebook's own
loss and gradient, the two parts judged before they were sent. Real nbgrader, real sandboxed
kernels."""
from __future__ import annotations

from pathlib import Path

from grading_fixtures import grade_notebooks

ATTACK = Path(__file__).resolve().parent / "attacks" / "softmax_toy_known_good_leak.ipynb"
OTHER_NOTEBOOKS = ("softmax_loss_and_gradient", "def predict", "def forward", "class PlainDense", "class PlainSoftmax",
                   "def cce")


def test_a_kernel_that_prints_what_it_was_sent_shows_no_other_notebooks_answers(tmp_path):
    result = grade_notebooks("softmax_toy", {"leaker": ATTACK}, tmp_path)["leaker"]
    assert result.score == result.max_score  # its answers are right: the attack only looks
    feedback = (tmp_path / "out" / "feedback" / "leaker.html").read_text()
    assert "def softmax_gradient(W, X, y)" in feedback  # the channel works: what it was sent is shown
    assert not [text for text in OTHER_NOTEBOOKS if text in feedback]
