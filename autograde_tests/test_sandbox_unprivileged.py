"""The grader run by an ordinary user (a course server where the instructor is not root): no
setpriv, no cgroups; bubblewrap makes the user namespace itself and the rlimits hold. Graded
for real as uid 65534 from the root test process: the fixture `tiny`, two classmates and an
attacker, in folders made for that user; skipped, saying why, where that cannot be done."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course_lib.grading.course import REPO_ROOT
from course_lib.grading.sandbox import DEFAULT_MEMORY, SandboxLimits, _reachable

from sandbox_helpers import EXAMPLES, HERE, MARK, attack_notebook, live_processes, require_bwrap

UID = 65534  # nobody

GRADE = """
import json, shutil, sys
from pathlib import Path
from course_lib.grading.autograde import Settings, autograde
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.release import release
from course_lib.grading.sandbox import sandbox_problem

here, build = Path(sys.argv[1]), Path(sys.argv[2])
problem = sandbox_problem()
if problem:
    print(json.dumps({"problem": problem}))
    sys.exit(0)
course = Course(root=REPO_ROOT, source=here / "fixture_course", build=build / "build", judges=here / "fixture_judges")
release(course, "tiny")
results = autograde(course, "tiny", build / "submitted", out=build / "grading",
                    settings=Settings(jobs=2, cell_timeout=10, budget=40), progress=False)
print(json.dumps({r.student: {"score": r.score, "status": r.status.value, "sandboxed": r.sandboxed} for r in results}))
"""

ATTACK = f"""
import json, os, subprocess, sys, resource
got = {{"uid": os.getuid(), "memory": resource.getrlimit(resource.RLIMIT_AS)[0]}}
for name, action in (("source", lambda: open({{source!r}}).read()), ("out", lambda: os.listdir({{out!r}})),
                     ("tmp", lambda: open('/tmp/{MARK}.txt', 'w').write('x'))):
    try:
        got[name] = str(action())[:200]
    except BaseException as error:
        got[name] = 'failed: ' + type(error).__name__
children = []  # a fork bomb, capped at 400 so that it cannot hurt the machine on old code
try:
    for _ in range(400):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    got["forks"] = "all 400"
except OSError as error:
    got["forks"] = len(children)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{MARK}'], start_new_session=True)
print('ATTACK', json.dumps(got))
"""


def _unprivileged_command(build: Path) -> list[str]:
    """The grading command as uid UID: directly when the Python installation is reachable by
    other users; else in a private mount namespace where its unreachable parent folder (e.g.
    /root, mode 700) is replaced by an empty one holding only the installation, as a course
    server would install Python where its users can run it. Nothing changes outside."""
    drop = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]
    python = [sys.executable, "-c", GRADE, str(HERE), str(build)]
    prefix = Path(sys.base_prefix).resolve()
    if _reachable(str(prefix)):
        return [*drop, *python]
    blocked = next(p for p in [*reversed(prefix.parents), prefix] if not os.stat(p).st_mode & 0o001)
    keep = build.parent / "python"
    script = (f'mkdir -p "{keep}" && mount --bind "{prefix}" "{keep}" && mount -t tmpfs -o mode=755 none "{blocked}" && '
              f'mkdir -p "{prefix}" && mount --bind "{keep}" "{prefix}" && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *drop, *python]


@pytest.fixture(scope="module")
def unprivileged_run():
    require_bwrap()
    if os.geteuid() != 0:
        pytest.skip("the test switches to uid 65534 to grade, which needs root (the grader itself needs none)")
    for tool in ("setpriv", "unshare"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` (util-linux) is missing: cannot run the grader as another user here")
    if not _reachable(str(Path(sys.prefix).resolve())) or not _reachable(str(REPO_ROOT)):
        pytest.skip(f"the venv ({sys.prefix}) or the repository is not readable by other users")
    root = Path(tempfile.mkdtemp(prefix="course-lib-unpriv-"))
    try:
        os.chmod(root, 0o755)
        build = root / "run"
        folder = build / "submitted"
        folder.mkdir(parents=True)
        shutil.copy(EXAMPLES / "reference.ipynb", folder / "reference.ipynb")
        shutil.copy(EXAMPLES / "mistake_cce_no_clip.ipynb", folder / "mistake_cce_no_clip.ipynb")
        source = HERE / "fixture_course" / "tiny" / "tiny.ipynb"
        code = ATTACK.replace("{source!r}", repr(str(source))).replace("{out!r}", repr(str(build / "grading")))
        (folder / "atk_unprivileged.ipynb").write_text(json.dumps(attack_notebook(code)))
        for path in [build, *build.rglob("*")]:
            os.chown(path, UID, UID)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(build),
               "TMPDIR": str(build), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(_unprivileged_command(build), env=env, cwd=build, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stderr[-3000:]
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        if "problem" in summary:
            pytest.skip(f"the sandbox cannot run as an ordinary user here: {summary['problem']}")
        yield build, summary, live_processes()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_an_ordinary_user_grades_in_the_sandbox(unprivileged_run):
    build, summary, _ = unprivileged_run
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    assert summary["reference"]["score"] == 6
    assert summary["mistake_cce_no_clip"]["score"] == pytest.approx(sum(expected["mistake_cce_no_clip"]["scores"].values()))
    assert all(r["sandboxed"] and r["status"] == "graded" for r in summary.values()), summary
    result = build / "grading" / "results" / "reference.json"
    assert result.stat().st_uid == UID  # written by the grader as that user


def test_the_sandbox_holds_for_an_ordinary_user(unprivileged_run):
    build, summary, processes = unprivileged_run
    assert summary["atk_unprivileged"]["score"] == 0
    page = json.loads((build / "grading" / "autograded" / "atk_unprivileged" / "tiny.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for c in page["cells"] for o in c.get("outputs", []))
    got = json.loads(text.split("ATTACK ", 1)[1].split("\n", 1)[0])
    assert got["uid"] == UID and got["tmp"] == "1"  # its own private /tmp
    assert got["memory"] == DEFAULT_MEMORY  # the rlimits hold without cgroups
    # The process limit is the sandbox's own (its user namespace's count), not the grader's uid's.
    assert isinstance(got["forks"], int) and 0 < got["forks"] < SandboxLimits().processes, got["forks"]
    assert got["source"].startswith("failed: ") and got["out"].startswith("failed: "), got
    assert not [p for p in os.listdir("/tmp") if MARK in p] and not list(build.rglob(f"*{MARK}*"))
    # The sleeper died with its sandbox (its uid's processes only: the root grader's attack tests,
    # run alongside, start sleepers of the same mark as uids of their own).
    assert [p for p in processes if MARK in p[2] and p[1] == UID] == []


NO_USERNS = """
import ctypes, os, sys
ready, mapped = int(sys.argv[1]), int(sys.argv[2])
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER
    print("SKIP unshare(CLONE_NEWUSER) failed:", os.strerror(ctypes.get_errno()))
    sys.exit(0)
from course_lib.grading.sandbox import sandbox_problem  # imported while the Python installation is readable
os.write(ready, b"1")
os.read(mapped, 1)
with open("/proc/sys/user/max_user_namespaces", "w") as limit:
    limit.write("0")  # within this user namespace only: no user namespace can be made below it
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
print("PROBLEM", sandbox_problem())
"""


def test_without_user_namespaces_an_ordinary_user_is_told_what_is_missing():
    """User namespaces disabled (for real, in a user namespace of the test's own whose
    max_user_namespaces is 0): the sandbox's check says so and how to allow them."""
    require_bwrap()
    if os.geteuid() != 0:
        pytest.skip("the test makes a user namespace with uid 65534 mapped, which needs root")
    to_parent, to_child = os.pipe(), os.pipe()
    child = subprocess.Popen([sys.executable, "-c", NO_USERNS, str(to_parent[1]), str(to_child[0])],
                             pass_fds=(to_parent[1], to_child[0]), stdout=subprocess.PIPE, text=True,
                             env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)})
    try:
        os.close(to_parent[1])
        os.close(to_child[0])
        if os.read(to_parent[0], 1) == b"1":
            for name in ("uid_map", "gid_map"):
                Path(f"/proc/{child.pid}/{name}").write_text("0 0 65536\n")
            os.write(to_child[1], b"1")
        out, _ = child.communicate(timeout=60)
    finally:
        os.close(to_parent[0])
        os.close(to_child[1])
        child.kill()
    if out.startswith("SKIP"):
        pytest.skip(out[5:].strip())
    assert out.startswith("PROBLEM "), out
    problem = out[len("PROBLEM "):]
    assert "cannot make user namespaces" in problem and "max_user_namespaces" in problem and "--no-sandbox" in problem, problem
    assert "apt-get install" not in problem  # bubblewrap is there: the message does not send them to install it
