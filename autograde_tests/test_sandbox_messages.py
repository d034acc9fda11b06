"""A single ZMQ message over the grader's limit (execute.MESSAGE_LIMIT, 8 MB), sent past the
kernel's own cut: ZMQ drops the connection unread, and the grader notes it on the cell,
connects again and grades the rest. Each attacker hands in the reference solutions, so the
probes and the judge must still give it every point; a classmate graded alongside keeps his."""
from __future__ import annotations

import json
import shutil

import pytest

from course_lib.grading.autograde import Settings, autograde
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.execute import MESSAGE_LIMIT
from course_lib.grading.release import release

from sandbox_helpers import EXAMPLES, HERE, require_bwrap

# The kernel cuts what it sends through Session.serialize (kernel_main.bound_messages); a
# hostile cell digs the original out of the patch's closure, or writes to the socket itself.
UNBOUNDED = """
from jupyter_client.session import Session
_k = get_ipython().kernel
_serialize = next(c.cell_contents for c in Session.serialize.__closure__ if callable(c.cell_contents))
"""
BIG = 3 * MESSAGE_LIMIT // 2
ATTACKS = {
    "atk_msg_display": UNBOUNDED + f"""
_msg = _k.session.msg('display_data', {{'data': {{'text/plain': 'y' * {BIG}}}, 'metadata': {{}}}}, parent=_k.get_parent())
_k.iopub_socket.send_multipart(_serialize(_k.session, _msg))
""",
    "atk_msg_comm": UNBOUNDED + f"""
from comm import create_comm
Session.serialize = _serialize  # the kernel's cut undone for the rest of the notebook
_comm = create_comm(target_name='courselib', data={{}})
_comm.send(data={{'x': 1}}, buffers=[b'\\0' * {BIG}])
""",
    "atk_msg_raw": f"""
get_ipython().kernel.iopub_socket.send_multipart([b'\\0' * {BIG}])
""",
}
LATER = "print('courselib later output')\n"  # appended to a later answer cell


def _notebook(attack: str) -> dict:
    """The reference of `tiny` with ``attack`` after its first answer and a print in its second."""
    nb = json.loads((EXAMPLES / "reference.ipynb").read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id == "cce":
            cell["source"] = "".join(cell["source"]) + "\n" + attack
        elif grade_id == "softmax":
            cell["source"] = "".join(cell["source"]) + "\n" + LATER
    return nb


@pytest.fixture(scope="module")
def huge_messages(tmp_path_factory):
    require_bwrap()
    build = tmp_path_factory.mktemp("messages")
    course = Course(root=REPO_ROOT, source=HERE / "fixture_course", build=build, judges=HERE / "fixture_judges")
    release(course, "tiny")
    folder = build / "submitted"
    folder.mkdir()
    shutil.copy(EXAMPLES / "reference.ipynb", folder / "classmate.ipynb")
    for student, attack in ATTACKS.items():
        (folder / f"{student}.ipynb").write_text(json.dumps(_notebook(attack)))
    out = build / "grading"
    results = autograde(course, "tiny", folder, out=out, settings=Settings(jobs=2, cell_timeout=10, budget=60), progress=False)
    return out, {r.student: r for r in results}


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_a_message_over_the_limit_costs_only_that_cells_output(huge_messages, student):
    out, by_student = huge_messages
    result = by_student[student]
    assert result.status.value == "graded"
    assert result.score == 6, [(c.grade_id, [(v.name, v.message) for v in c.checks]) for c in result.cells]
    assert any("over the 8 MB" in note and "cell 2" in note for note in result.notes), result.notes
    cells = json.loads((out / "autograded" / student / "tiny.ipynb").read_text())["cells"]
    texts = ["".join(o.get("text", "")) + json.dumps(o.get("data", {})) for o in cells[2]["outputs"]]
    assert any("over the 8 MB" in t for t in texts), texts
    assert any("courselib later output" in "".join(o.get("text", "")) for o in cells[4]["outputs"])
    assert sum(len(json.dumps(c)) for c in cells) < 1_000_000


def test_classmates_are_unaffected(huge_messages):
    _, by_student = huge_messages
    assert by_student["classmate"].score == 6 and by_student["classmate"].notes == []
