"""A student in JupyterLab: the released layers notebook from the student bundle, its `?`
blanks, filling in `cce` and running its visible test (pass, then a wrong answer and its
diagnostic, shown without a traceback), and nbgrader's Validate button (a failing verdict with
the same message and no traceback, then success once every blank is filled in)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

from .labtools import NOTEBOOKS, cell, cell_text, expect, open_notebook, output_text, run_cell, set_cell_source

pytestmark = pytest.mark.browser

CCE_RIGHT = "return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0))) / y.shape[1]"
# A typical mistake: the sum over the batch instead of the mean.
CCE_SUM = "return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0)))"
CCE_SUM_DIAGNOSTIC = "this is the sum over the 4 samples where their mean is asked: divide by the number of samples y.shape[1]"


def answer_code(source: str) -> str:
    """A source solution cell as a student who got everything right writes it: the blank
    markers and solution delimiters removed, the reference code kept."""
    lines = []
    for line in source.split("\n"):
        if re.match(r"^\s*#\s*(BEGIN BLANK:|END BLANK)|^\s*### (BEGIN|END) SOLUTION", line):
            continue
        lines.append(re.sub(r"\s*#\s*BLANK:.*$", "", line))
    return "\n".join(lines)


def grade_id(c) -> str | None:
    return (c.metadata.get("nbgrader") or {}).get("grade_id")


def is_solution(c) -> bool:
    return bool((c.metadata.get("nbgrader") or {}).get("solution"))


@pytest.fixture(scope="module")
def student_bundle(layers_course, tmp_path_factory):
    """The student bundle the pipeline builds (release notebooks, course_lib without the
    solutions, the data), unpacked as a student has it."""
    from course_lib.grading.bundle import build_bundle

    folder, _archive = build_bundle(layers_course.course, ["layers"], tmp_path_factory.mktemp("student"))
    return folder


# The student's kernel: the project's interpreter without the development install's editable
# finder for course_lib (which would serve the repository's course_lib, solutions included,
# whatever comes first on the path), so that `course_lib` is the bundle's, as after the
# bundle's own `pip install -e .`.
STUDENT_KERNEL = """\
import sys

sys.path.pop(0)  # this launcher's folder
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable___course_lib")]
if sys.argv[1:] == ["--probe"]:
    import importlib.util

    import course_lib

    print(course_lib.__file__, importlib.util.find_spec("course_lib.solutions") is None)
else:
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
"""


@pytest.fixture(scope="module")
def student_server(student_bundle, lab_server_factory, tmp_path_factory):
    """JupyterLab as the bundle's README starts it (`jupyter lab notebooks/`); the notebooks'
    `python3` kernel imports the bundle's course_lib (no solutions)."""
    home = tmp_path_factory.mktemp("student-jupyter")
    launcher = home / "student_kernel.py"
    launcher.write_text(STUDENT_KERNEL)
    spec = home / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    env = {"PYTHONPATH": str(student_bundle), "COURSE_LIB_DATA": str(student_bundle / "data"),
           "JUPYTER_PATH": str(home)}
    probe = subprocess.run([sys.executable, str(launcher), "--probe"], env={**os.environ, **env},
                           capture_output=True, text=True, cwd=student_bundle, check=True)
    package, no_solutions = probe.stdout.split()
    assert package.startswith(str(student_bundle)), f"the student's kernel would import {package}, not the bundle's"
    assert no_solutions == "True", "the student's kernel can import course_lib.solutions"
    server = lab_server_factory(student_bundle / "notebooks", "student", env)
    kernels = server.api("/api/kernelspecs")["kernelspecs"]
    assert str(launcher) in kernels["python3"]["spec"]["argv"], "JupyterLab does not use the student's kernel"
    yield server
    server.stop()


def test_student_fills_in_cce_and_validates(student_server, student_bundle, page, steps):
    released = nbformat.read(student_bundle / "notebooks" / "layers" / "layers.ipynb", as_version=4)
    source = nbformat.read(NOTEBOOKS / "layers" / "layers.ipynb", as_version=4)
    index = {grade_id(c): i for i, c in enumerate(released.cells)}
    cce, cce_tests, imports = index["cce"], index["cce_tests"], index["imports"]
    answers = {grade_id(c): answer_code(c.source) for c in source.cells if is_solution(c)}

    with steps("open the released layers notebook"):
        panel = open_notebook(page, student_server, "layers/layers.ipynb")
        expect(panel.locator(".jp-Notebook .jp-Cell")).to_have_count(len(released.cells))
        expect(page.locator(".validate-button"), "nbgrader's Validate button is not in the toolbar").to_be_visible()

    with steps("see the blanks"):
        cell(panel, cce).scroll_into_view_if_needed()
        shown = cell_text(panel, cce)
        assert shown == released.cells[cce].source, f"the cce cell shows {shown!r}"
        assert re.search(r"^\s+return\(\?\)$", shown, re.M), f"no `return(?)` blank in the cce cell: {shown!r}"
        softmax = cell_text(panel, index["softmax"])
        for blank in ("self.output = ?", "T = ?", "return np.einsum(?, T, output_gradient)"):
            assert blank in softmax, f"the Softmax cell does not show the blank {blank!r}"
        page_text = panel.locator(".jp-Notebook").inner_text()
        for leak in ("BLANK:", "HIDDEN TESTS", "BEGIN SOLUTION", "np.clip(yhat, EPS, 1.0))) / y.shape[1]"):
            assert leak not in page_text, f"the student's notebook shows {leak!r}"

    with steps("the test cell is locked"):
        # nbgrader's release makes test cells read-only: typing into one changes nothing
        test_source = released.cells[cce_tests].source
        locked = cell(panel, cce_tests).locator(".cm-editor")
        expect(locked).to_have_class(re.compile(r"\bjp-mod-readOnly\b"))
        expect(cell(panel, cce).locator(".cm-editor")).not_to_have_class(re.compile(r"\bjp-mod-readOnly\b"))
        cell(panel, cce_tests).locator(".cm-content").click()
        expect(locked).to_have_class(re.compile(r"\bcm-focused\b"))  # the keys go to this editor
        page.keyboard.press("End")
        page.keyboard.type("  # edited")
        page.keyboard.press("Escape")
        assert cell_text(panel, cce_tests) == test_source, "the student could edit the cce test cell"

    with steps("run the imports"):
        run_cell(page, panel, imports)
        assert "Error" not in output_text(panel, imports)

    with steps("an unfilled blank fails loudly"):
        run_cell(page, panel, cce)
        assert "SyntaxError" in output_text(panel, cce)

    with steps("type a correct cce"):
        filled = released.cells[cce].source.replace("return(?)", CCE_RIGHT)
        set_cell_source(page, panel, cce, filled)
        assert cell_text(panel, cce) == filled

    with steps("run cce and its visible test: pass"):
        run_cell(page, panel, cce)
        assert output_text(panel, cce).strip() == "", "running the filled-in cce cell printed something"
        run_cell(page, panel, cce_tests)
        out = output_text(panel, cce_tests)
        assert "\u2714 cce: all 6 checks passed" in out, f"the visible test did not pass: {out!r}"
        assert "Error" not in out

    with steps("run a wrong cce: the diagnostic"):
        set_cell_source(page, panel, cce, released.cells[cce].source.replace("return(?)", CCE_SUM))
        run_cell(page, panel, cce)
        run_cell(page, panel, cce_tests)
        out = output_text(panel, cce_tests)
        assert "CheckFailure" in out, f"no CheckFailure shown: {out!r}"
        assert CCE_SUM_DIAGNOSTIC in out, f"the diagnostic is not shown: {out!r}"
        assert "\u2714" not in out
        assert_no_traceback(out)

    with steps("validate with the wrong cce: failed verdict"):
        verdict = validate(page)
        assert verdict["title"] == "Validation Results"
        assert "validation-failed" in verdict["class"], f"unexpected verdict: {verdict}"
        assert "The following cell failed:" in verdict["text"]
        assert "check_cce(cce)" in verdict["text"], "the verdict does not name the cce test cell"
        assert CCE_SUM_DIAGNOSTIC in verdict["text"], "the verdict does not carry the cce diagnostic"
        # The verdict lists each failed cell; the failed check's own section is its message alone
        # (the later test cells fail on the still unfilled blanks).
        cce_section = verdict["text"].split("check_cce(cce)", 1)[1].split("The following cell failed:")[0]
        assert cce_section.strip().startswith("CheckFailure: cce: "), cce_section
        assert_no_traceback(cce_section)
        assert "Success" not in verdict["text"]

    with steps("fill in every blank"):
        close_dialog(page)
        for gid, answer in answers.items():
            set_cell_source(page, panel, index[gid], answer)
            assert cell_text(panel, index[gid]) == answer, f"the {gid} cell does not hold the typed answer"
        assert "?" not in "".join(cell_text(panel, index[gid]) for gid in answers)

    with steps("validate the finished notebook: success"):
        verdict = validate(page)
        assert verdict["title"] == "Validation Results"
        assert "validation-success" in verdict["class"], f"unexpected verdict: {verdict}"
        assert "Success! Your notebook passes all the tests." in verdict["text"]


def assert_no_traceback(text: str) -> None:
    """A failed check shows its message alone: no traceback, no frame of the checks' own code."""
    for sign in ("Traceback", "course_lib/checks", "checks/layers.py", "checks/common.py", "----> ", "File \"", ".py:"):
        assert sign not in text, f"the failure shows {sign!r}: {text!r}"


def validate(page, timeout_ms: int = 120_000) -> dict:
    """Press nbgrader's Validate button and read the verdict dialog."""
    page.locator(".validate-button").first.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(state="visible", timeout=timeout_ms)
    return {
        "title": page.locator(".jp-Dialog .jp-Dialog-header").inner_text().strip(),
        "class": message.get_attribute("class") or "",
        "text": message.inner_text(),
    }


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")
