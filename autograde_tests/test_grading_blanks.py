"""The `# BLANK:` markers and the loud failure of every released blank."""
from __future__ import annotations

import pytest

from course_lib.grading.blanks import BlankError, fails_loudly, find_blanks, release_blanks, verify_blanks

SOURCE = '''def softmax(z):
    shifted = z - np.max(z, axis=0, keepdims=True)  # BLANK: shifted = ?
    # BEGIN BLANK: e = np.exp(?)
    e = np.exp(shifted)
    # END BLANK
    if True:
        return e / e.sum(axis=0)  # BLANK: return(?)'''


def test_inline_and_region_blanks_keep_indentation():
    released = release_blanks(SOURCE)
    assert released.split("\n") == [
        "def softmax(z):", "    shifted = ?", "    e = np.exp(?)", "    if True:", "        return(?)"]


@pytest.mark.parametrize("text", ["return(?)", "self.output = ?", "T = ?", "np.einsum(?, T, output_gradient)",
                                  "x = np.dot(?, ?)", "X_batch = X[:, ?]"])
def test_lecture_blanks_fail_loudly(text):
    source = f"def f(T, output_gradient, X):\n    x = 1  # BLANK: {text}\n    return x"
    verify_blanks(source)
    assert fails_loudly(release_blanks(source))
    assert not fails_loudly(source)


def test_a_lone_question_mark_is_refused():
    with pytest.raises(BlankError, match="silent help call"):
        find_blanks("x = 1  # BLANK: ?")


def test_a_help_form_blank_is_refused_because_it_runs_silently():
    # `x?` is IPython's pinfo: it compiles and runs, so it must not be a blank.
    with pytest.raises(BlankError, match="does not raise a SyntaxError"):
        verify_blanks("x = 1  # BLANK: x?")


@pytest.mark.parametrize("source, message", [
    ("# BEGIN BLANK: x = ?\nx = 1", "without a '# END BLANK'"),
    ("x = 1\n# END BLANK", "without a '# BEGIN BLANK'"),
    ("# BEGIN BLANK: a = ?\n# BEGIN BLANK: b = ?\n# END BLANK", "nested"),
    ("x = 1  # BLANK: x = 2", "has no '?'"),
])
def test_malformed_markers_name_the_problem(source, message):
    with pytest.raises(BlankError, match=message):
        find_blanks(source)
