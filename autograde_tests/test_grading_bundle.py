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

SOLUTIONS = REPO_ROOT / "course_lib" / "solutions"


def _solution_lines() -> set[str]:
    """Code lines of the reference solutions (function and method bodies) that appear
    nowhere else in course_lib, so their presence means leaked solution code."""
    shipped = "\n".join(p.read_text() for p in (REPO_ROOT / "course_lib").rglob("*.py") if SOLUTIONS not in p.parents)
    lines = set()
    for path in SOLUTIONS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for statement in node.body[1:] if ast.get_docstring(node) else node.body:
                    for line in ast.unparse(statement).split("\n"):
                        line = line.strip()
                        if len(line) >= 25 and line not in shipped and not line.startswith(("def ", "return self", "super(")):
                            lines.add(line)
    return lines


def _shipped_on_purpose(course: Course, assignments) -> str:
    """What the instructor ships by design: course_lib without solutions, the locked cells
    and the visible part of the test cells of every source notebook."""
    parts = [p.read_text() for p in (REPO_ROOT / "course_lib").rglob("*.py") if SOLUTIONS not in p.parents]
    for assignment in assignments:
        for cell in read_notebook(course.source_notebook(assignment)).cells:
            if not is_solution(cell):
                parts.append(re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", "", cell.source, flags=re.S))
    return "\n".join(parts)


def _secrets(course: Course, assignments):
    """Hidden-test lines and answer lines (from `# BLANK:` lines and SOLUTION regions) that
    are not also shipped on purpose elsewhere."""
    shipped = _shipped_on_purpose(course, assignments)
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
    keep = lambda line: line not in shipped and not line.startswith(("from ", "import ", "#"))
    return [l for l in hidden if keep(l)], [l for l in answers if keep(l)]


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
