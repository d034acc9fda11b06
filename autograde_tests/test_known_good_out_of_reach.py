"""No shipped code hands out a graded answer. The known-good versions of graded functions (what a
probe puts in place of a student's other answers, so that each part is judged on its own) are
instructor code: they are not in the student bundle nor on the grading kernel's path; the grader
sends them with the one probe that uses them, after the parts they stand in for were judged. The
visible checks compute their expected values only for inputs they draw themselves (no ``softmax``,
Jacobian or MLP gradient of a student's own arrays).

Each submission below is the reference with some answers replaced by calls to that code, imported
from where it used to ship (``course_lib.checks``) and, failing that, found on the kernel's
``sys.path`` by file name: those parts earn nothing. Real nbgrader, real sandboxed kernels."""
from __future__ import annotations

import shutil

import nbformat
import pytest

from course_lib.grading.autograde import autograde
from course_lib.grading.course import grade_id, read_notebook
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, course_for, settings_for

# Looks for the known-good code wherever the kernel can import or read from; returns None when
# there is none (then the delegating answer below fails, as a missing answer does).
FIND = '''
def _find_known_good(*names):
    import importlib, os, sys
    for module in ("course_lib.checks.known_good", "course_lib.checks.mnist_softmax", "course_lib.checks.spies",
                   "course_lib.checks.layer_softmax", "course_lib.checks.mlp_backprop",
                   "course_lib.judges.known_good", "course_lib.known_good"):
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            if hasattr(found, name):
                return getattr(found, name)
    for folder in sys.path:
        for root, _, files in os.walk(folder or "."):
            if "known_good.py" in files:
                space = {}
                exec(open(os.path.join(root, "known_good.py")).read(), space)
                for name in names:
                    if name in space:
                        return space[name]
    return None
'''

# assignment -> {answer cell: its code}: answers that hand in the course's known-good code.
ATTACKS = {
    "softmax_toy": {
        "softmax_loss": FIND + "\n\ndef softmax_loss(W, X, y):\n    return _find_known_good('softmax_loss')(W, X, y)\n",
        "softmax_gradient": FIND + "\n\ndef softmax_gradient(W, X, y):\n    return _find_known_good('softmax_gradient')(W, X, y)\n",
    },
    "mlp_backprop": {
        "forward": FIND + "\n\ndef forward(p, X, activation='logistic'):\n    return _find_known_good('forward')(p, X, activation)\n",
        "compute_grad_loss": FIND + "\n\ndef compute_grad_loss(p, X, Y, activation='logistic'):\n"
                                    "    loss, grads = _find_known_good('exact_grad_loss')(p, X, Y)\n"
                                    "    return loss, {'W': grads}\n",
    },
    "mnist_softmax": {
        "predict": FIND + "\n\ndef predict(W, X):\n    return _find_known_good('known_good_predict', 'predict')(W, X)\n",
        "loss_and_gradient": FIND + "\n\ndef softmax_loss_and_gradient(W, X, y, l2_reg=0.0):\n"
                                    "    return _find_known_good('known_good_loss_and_gradient', 'loss_and_gradient')(W, X, y, l2_reg)\n",
    },
    "layers": {
        "cce": FIND + "\n\nEPS = 1e-12\n\n\ndef cce(y, yhat):\n    return _find_known_good('_plain_cce', 'cce')(y, yhat)\n",
        "softmax": FIND + "\n\nclass Softmax(Layer):\n"
                          "    def forward(self, input):\n"
                          "        self.input = input\n"
                          "        self.output = _find_known_good('softmax')(input)\n"
                          "        return self.output\n\n"
                          "    def backward(self, output_gradient, learning_rate):\n"
                          "        return _find_known_good('jacobians_applied')(self.output, output_gradient)\n",
    },
}
# The graded cells that judge those answers, and what they are worth in the reference.
JUDGED_BY = {
    "softmax_toy": ("softmax_loss_tests", "softmax_gradient_tests"),
    "mlp_backprop": ("forward_tests", "compute_grad_loss_tests"),
    "mnist_softmax": ("predict_tests", "loss_tests", "gradient_tests"),
    "layers": ("cce_tests", "softmax_forward_tests", "softmax_backward_tests"),
}


@pytest.mark.parametrize("assignment", sorted(ATTACKS))
def test_known_good_code_handed_in_as_answers_earns_nothing(assignment, tmp_path):
    course = course_for(assignment, tmp_path / "build")
    release(course, assignment)
    submissions = tmp_path / "submitted"
    submissions.mkdir()
    shutil.copy(EXAMPLES / assignment / "reference.ipynb", submissions / "reference.ipynb")
    nb = read_notebook(EXAMPLES / assignment / "reference.ipynb")
    for cell in nb.cells:
        if grade_id(cell) in ATTACKS[assignment]:
            cell.source = ATTACKS[assignment][grade_id(cell)]
    nbformat.write(nb, str(submissions / "known_good.ipynb"))

    results = {r.student: r for r in autograde(course, assignment, submissions, out=tmp_path / "out",
                                                settings=settings_for(assignment), progress=False)}
    reference = {c.grade_id: c for c in results["reference"].cells}
    attack = {c.grade_id: c for c in results["known_good"].cells}
    assert all(reference[g].score == reference[g].points > 0 for g in JUDGED_BY[assignment]), reference
    for gid in JUDGED_BY[assignment]:
        assert attack[gid].score == 0, (gid, attack[gid].score, attack[gid].message)
    assert any("refers to the course's checks or judges" in flag for flag in results["known_good"].flags)
    assert not results["reference"].flags
    # Every other part is the reference's and keeps its points.
    for gid, cell in reference.items():
        if gid not in JUDGED_BY[assignment] and not (assignment == "mnist_softmax" and gid == "chosen_model_tests"):
            assert attack[gid].score == cell.score, (gid, attack[gid].message)
