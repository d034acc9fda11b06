"""The student bundle holds the release, course_lib without the reference solutions, and the
data; no solution code and no hidden test text anywhere in it (folder and zip)."""
from __future__ import annotations

import ast
import re
import zipfile

import pytest

from course_lib.grading.bundle import build_bundle
from course_lib.grading.course import REPO_ROOT, Course, is_solution, read_notebook
from course_lib.grading.release import release
from course_lib.grading.sandbox import STUDENT_EXCLUDE

PACKAGE = REPO_ROOT / "course_lib"
SOLUTIONS = PACKAGE / "solutions"
# Instructor code with answers in it: the reference solutions and the judges' known-good versions.
SECRET_CODE = sorted(SOLUTIONS.glob("*.py")) + [PACKAGE / "judges" / "known_good.py"]
# Lines of answer code that the bundle ships on purpose, each with its reason. Anything else of
# SECRET_CODE found in the bundle is a leak. (A line shared with shipped code used to count as
# shipped on purpose; that hid the known-good answers in course_lib/checks.)
SHIPPED_ON_PURPOSE = {
    # course_lib.epoch_batches, which layers and mlp_backprop import, is softmax_toy's mini_batches.
    "permutation = rng.permutation(num_samples)": "course_lib/batching.py",
    "return [permutation[start:start + batch_size] for start in range(0, num_samples, batch_size)]": "course_lib/batching.py",
    # Bookkeeping of the recipes' training loops, shared with minibatch_sgd.
    "start = time.perf_counter()": "course_lib/optim.py",
    "rng = np.random.default_rng(seed)": "course_lib/checks",
    "with blas_threads(threads):": "course_lib/optim.py",
    "history.loss.append(total_loss / N)": "course_lib/optim.py",
    "history.learning_rate.append(learning_rate)": "course_lib/optim.py",
    "history.seconds.append(time.perf_counter() - start)": "course_lib/optim.py",
    "if validation is not None:": "course_lib/optim.py",
    "from course_lib.optim import minibatch_sgd": "course_lib/__init__.py",
    # Hints that name the lecture's formula once the check has found that very mistake.
    "dZ_output = (P - Y) / N": "course_lib/checks/mlp_backprop.py (gradient_missing_1_over_N)",
    "Y_batch = Y[:, batch]": "course_lib/checks/loop.py (loop_labels_transposed)",
    # mlp_backprop's visible check works out the exact gradients to name a batch mistake; only
    # its yes or no leaves the function (checks/mlp_backprop.py, _right_for).
    "S = W_o[:, :-1] @ A + W_o[:, -1:]": "course_lib/checks/mlp_backprop.py",
}


def _student_package_files() -> list:
    """The course_lib files the bundle and the grading kernel get (``copy_student_package``)."""
    return [p for p in PACKAGE.rglob("*.py") if not set(p.relative_to(PACKAGE).parts[:-1]) & set(STUDENT_EXCLUDE)]


def _solution_lines() -> set[str]:
    """Code lines (25 characters or more) of the answer code's function and method bodies."""
    lines = set()
    for path in SECRET_CODE:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "source":
                for statement in node.body[1:] if ast.get_docstring(node) else node.body:
                    for line in ast.unparse(statement).split("\n"):
                        line = line.strip()
                        if len(line) >= 25 and line not in SHIPPED_ON_PURPOSE and not line.startswith(("def ", "return self", "super(")):
                            lines.add(line)
    return lines


def _in_notebooks(course: Course, assignments) -> str:
    """What the notebooks show students by design: every cell but the answers, without the hidden tests."""
    parts = []
    for assignment in assignments:
        for cell in read_notebook(course.source_notebook(assignment)).cells:
            if not is_solution(cell):
                parts.append(re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", "", cell.source, flags=re.S))
    return "\n".join(parts)


def _secrets(course: Course, assignments):
    """Hidden-test lines not shipped on purpose (in the notebooks' visible parts or in course_lib),
    and answer lines (from `# BLANK:` lines and SOLUTION regions) that the notebooks do not show
    elsewhere and that are not in SHIPPED_ON_PURPOSE: course_lib holds no answer of its own."""
    in_notebooks = _in_notebooks(course, assignments)
    in_package = "\n".join(p.read_text() for p in _student_package_files())
    hidden, answers = [], []
    for assignment in assignments:
        for cell in read_notebook(course.source_notebook(assignment)).cells:
            for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
                hidden += [l.strip() for l in region.split("\n") if len(l.strip()) >= 20]
            if is_solution(cell):
                for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S):
                    answers += [l.strip() for l in region.split("\n") if len(l.strip()) >= 20]
                for region in re.findall(r"# BEGIN BLANK:.*?\n(.*?)# END BLANK", cell.source, re.S):
                    answers += [l.strip() for l in region.split("\n") if len(l.strip()) >= 20]
                for line in cell.source.split("\n"):
                    if "# BLANK:" in line and "BEGIN BLANK" not in line:
                        code = line.split("# BLANK:")[0].strip()
                        if len(code) >= 20:
                            answers.append(code)
    code = lambda line: not line.startswith(("from ", "import ", "#"))
    hidden = [l for l in hidden if code(l) and l not in in_notebooks and l not in in_package]
    answers = [l for l in answers if code(l) and l not in in_notebooks and l not in SHIPPED_ON_PURPOSE]
    return hidden, answers


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    build = tmp_path_factory.mktemp("bundle_build")
    course = Course(build=build)
    assignments = course.assignments()
    if not assignments:
        pytest.skip("no course notebooks yet")
    for assignment in assignments:
        release(course, assignment)
    folder, archive = build_bundle(course, assignments)
    return course, assignments, folder, archive


def test_bundle_layout(bundle):
    course, assignments, folder, archive = bundle
    for assignment in assignments:
        assert (folder / "notebooks" / assignment / f"{assignment}.ipynb").is_file()
    assert (folder / "course_lib" / "__init__.py").is_file()
    assert (folder / "course_lib" / "checks" / "common.py").is_file()
    assert not (folder / "course_lib" / "solutions").exists()
    assert (folder / "data" / "mnist.npz").is_file()
    names = zipfile.ZipFile(archive).namelist()
    assert not any("/solutions/" in n for n in names)
    assert len([n for n in names if not n.endswith("/")]) == len([p for p in folder.rglob("*") if p.is_file()])


def test_no_solution_code_and_no_hidden_test_text_in_the_bundle(bundle):
    course, assignments, folder, archive = bundle
    hidden, answers = _secrets(course, assignments)
    solution_lines = _solution_lines()
    assert hidden and answers and solution_lines
    with zipfile.ZipFile(archive) as handle:
        texts = {n: handle.read(n).decode("utf-8", "replace") for n in handle.namelist()
                 if n.endswith((".py", ".ipynb", ".md", ".toml", ".txt", ".json"))}
    leaks = []
    for name, text in texts.items():
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "# BLANK:", "course_lib.solutions import"):
            if marker in text and not name.endswith(("grading/release.py", "grading/blanks.py", "grading/bundle.py", "grading/scan.py", "grading/restore.py", "course_lib/cli.py")):
                leaks.append((name, marker))
        for line in hidden + answers:
            if line in text or json_escaped(line) in text:
                leaks.append((name, line))
        if name.endswith(".py"):
            for line in solution_lines:
                if line in text:
                    leaks.append((name, line))
    assert not leaks, leaks[:10]


def json_escaped(line: str) -> str:
    import json

    return json.dumps(line)[1:-1]
