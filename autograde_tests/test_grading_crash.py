"""Crash safety: the grader killed with SIGKILL at any moment (from outside as soon as a
result is on disk, after a result's gradebook row, inside a gradebook write, between the CSV
and the summary), then run again, ends with the same gradebook rows, scores.csv, results and
feedback pages as an uninterrupted run: nothing lost, nothing duplicated."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_lib.grading.autograde import KILL_AT, run_autograde
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.leftovers import stale_folders
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, FIXTURE, FIXTURE_JUDGES, HERE, SETTINGS

STUDENTS = ("mistake_softmax_no_max", "reference", "untouched")
RUNNER = f"""
import sys
from pathlib import Path
sys.path.insert(0, {str(HERE)!r})
from grading_fixtures import FIXTURE, FIXTURE_JUDGES, SETTINGS
from course_lib.grading.autograde import run_autograde
from course_lib.grading.course import REPO_ROOT, Course

if __name__ == "__main__":
    build, folder, out = map(Path, sys.argv[1:4])
    course = Course(root=REPO_ROOT, source=FIXTURE, build=build, judges=FIXTURE_JUDGES)
    run_autograde(course, "tiny", folder, out=out, settings=SETTINGS, progress=False)
"""


def fixture_course(build: Path) -> Course:
    course = Course(root=REPO_ROOT, source=FIXTURE, build=build, judges=FIXTURE_JUDGES)
    release(course, "tiny")
    return course


def group_alive(pgid: int) -> bool:
    """Whether a process of process group ``pgid`` still runs (the killed grader's workers)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def sandboxed_processes(scratch: Path, states: bool = False) -> list[str]:
    """Command lines of the live sandbox processes (bwrap, setpriv, the kernel) whose kernel folder
    lies under ``scratch``, the killed grader's TMPDIR; with ``states``, each with its state, its
    parent and where it waits (what a stuck one was doing)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
                state, parent = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[:2]
                waits = open(f"/proc/{entry}/wchan").read() if states else ""
            except OSError:
                continue
            if str(scratch) in command and state != "Z":
                line = command if len(command) <= 300 else f"{command[:150]} ... {command[-150:]}"
                found.append(f"[{state}, parent {parent}, waits in {waits or '-'}] {line}" if states else line)
    return found


# The killed graders' TMPDIR, where their kernels' folders go (a sandbox process names it on its
# command line); under /tmp and open to the sandbox's unprivileged uid, as /tmp itself is.
SCRATCH = Path(tempfile.gettempdir()) / f"course-lib-crash-{os.getpid()}"


@pytest.fixture(autouse=True, scope="module")
def _scratch():
    SCRATCH.mkdir(exist_ok=True)
    SCRATCH.chmod(0o755)
    yield
    shutil.rmtree(SCRATCH, ignore_errors=True)


def start(script: Path, course: Course, folder: Path, out: Path, kill_at: str | None = None) -> subprocess.Popen:
    scratch = SCRATCH
    env = {k: v for k, v in os.environ.items() if k != KILL_AT} | ({KILL_AT: kill_at} if kill_at else {}) | {"TMPDIR": str(scratch)}
    log = open(script.with_suffix(".log"), "w")
    return subprocess.Popen([sys.executable, str(script), str(course.build), str(folder), str(out)], env=env,
                            start_new_session=True, stdout=log, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, log: Path) -> int:
    """The grader's exit code; its workers and every sandboxed kernel (bwrap starts each in a
    session of its own, outside the grader's process group) must die with it (none may linger)."""
    scratch = SCRATCH
    try:
        process.wait(timeout=300)
    finally:
        deadline = time.monotonic() + 30
        while (group_alive(process.pid) or sandboxed_processes(scratch)) and time.monotonic() < deadline:
            time.sleep(0.1)
        lingering, kernels = group_alive(process.pid), sandboxed_processes(scratch)
        if lingering:
            os.killpg(process.pid, signal.SIGKILL)
        if kernels:
            subprocess.run(["pkill", "-9", "-f", str(scratch)], check=False)
    assert not lingering, "the grader's workers outlived it"
    assert not kernels, f"sandboxed kernels outlived the killed grader: {kernels}"
    assert process.returncode in (0, -signal.SIGKILL), log.read_text()[-2000:]
    return process.returncode


def snapshot(course: Course, out: Path) -> dict:
    """The gradebook's rows, scores.csv, the results (without timings) and the feedback pages' names."""
    with Gradebook(course.db_url) as gb:
        rows = []
        for submission in gb.assignment_submissions("tiny"):
            for notebook in submission.notebooks:
                grades = sorted((g.name, g.auto_score, g.manual_score, g.needs_manual_grade) for g in notebook.grades)
                rows.append((submission.student.id, notebook.name, notebook.flagged, grades))
        students = sorted(s.id for s in gb.students)
    results = {}
    for path in sorted((out / "results").glob("*.json")):
        data = json.loads(path.read_text())
        for timing in ("seconds", "judge_seconds", "retried"):
            data.pop(timing)
        results[path.name] = data
    return {"gradebook": sorted(rows), "students": students, "csv": (out / "scores.csv").read_text(),
            "results": results, "feedback": sorted(p.name for p in (out / "feedback").iterdir()),
            "formgrader": sorted(str(p.relative_to(course.nbgrader_dir)) for p in (course.nbgrader_dir / "autograded").rglob("*.ipynb")),
            "leftovers": sorted(str(p) for p in [*out.rglob("*.tmp"), *course.nbgrader_dir.rglob("*.tmp")])}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash") / "submitted"
    for student in STUDENTS:
        (folder / student / "tiny").mkdir(parents=True)
        shutil.copy(EXAMPLES / "tiny" / f"{student}.ipynb", folder / student / "tiny" / "tiny.ipynb")
    (folder / "alice").mkdir()  # a row without a submission
    return folder


def test_killed_at_any_point_then_run_again_ends_as_an_uninterrupted_run(folder, tmp_path):
    clean = fixture_course(tmp_path / "clean")
    run_autograde(clean, "tiny", folder, out=tmp_path / "clean" / "out", settings=SETTINGS, progress=False)
    expected = snapshot(clean, tmp_path / "clean" / "out")
    assert len(expected["gradebook"]) == len(STUDENTS) and expected["leftovers"] == []

    course, out = fixture_course(tmp_path / "crash"), tmp_path / "crash" / "out"
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    log = script.with_suffix(".log")
    # 1. From outside, as soon as the first result file is on disk.
    process = start(script, course, folder, out)
    deadline = time.monotonic() + 300
    while not list((out / "results").glob("*.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    assert finish(process, log) == -signal.SIGKILL
    # 2. After a newly graded result's gradebook row (when any is left to grade), 3. inside a
    # gradebook write, 4. between scores.csv and the summary.
    # The workers died with the grader: what they were grading is graded again.
    left = len(STUDENTS) - len(list((out / "results").glob("*.json")))
    for point, killed in (("recorded:1", left > 0), ("gradebook:2", True), ("reports:1", True)):
        assert finish(start(script, course, folder, out, point), log) == (-signal.SIGKILL if killed else 0), point
    assert finish(start(script, course, folder, out), log) == 0
    assert snapshot(course, out) == expected
    # Each run started by removing what the killed ones left in their temporary folder.
    assert stale_folders(SCRATCH) == [], stale_folders(SCRATCH)


KILLED_AT_KERNEL_START = """
import os, signal, sys
from pathlib import Path
from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.course import REPO_ROOT
from course_lib.grading.execute import Sandbox, start_sandboxed_kernel
from course_lib.grading.sandbox import SandboxLimits, SandboxMounts

tree, kernels = prepare_sandbox(Path(sys.argv[1]), SandboxLimits().memory)
sandbox = Sandbox(SandboxMounts(str(tree), str(REPO_ROOT / "data")), SandboxLimits())
for slot in (0, 1):  # the launchers are still starting when their grading process dies
    start_sandboxed_kernel(kernels, sandbox, [], slot=slot)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_grading_process_killed_as_it_starts_kernels_leaves_none(tmp_path):
    """The window before bwrap's own --die-with-parent: a grading process killed right after it
    started two kernels (one of them the next submission's, started ahead), four times over.
    Their launchers and sandboxes must end with it rather than run on as children of init. A
    bwrap killed between creating the sandbox's first process and letting it go on had left that
    process blocked for ever (about one grading process in ten under load)."""
    from sandbox_helpers import require_bwrap

    require_bwrap()
    for _ in range(4):
        done = run_killed_grader(KILLED_AT_KERNEL_START, tmp_path)
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    time.sleep(5)  # long enough for an orphaned launcher to have become a running kernel
    # A sandbox still starting ends itself at its kernel's first step (the lifeline check).
    deadline = time.monotonic() + 30
    while sandboxed_processes(SCRATCH) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = sandboxed_processes(SCRATCH, states=True)
    if left:
        subprocess.run(["pkill", "-9", "-f", str(SCRATCH)], check=False)
    assert not left, f"sandboxed processes outlived their grading process by 35 s: {left}"


def run_killed_grader(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``code`` (a grading process that kills itself) with its kernels' folders in SCRATCH."""
    script = tmp_path / "killed.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script), str(tmp_path / "out")], env=dict(os.environ, TMPDIR=str(SCRATCH)),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)


KILLED_WITH_A_BROKEN_PARENT_CHAIN = """
import os, signal, sys, time
from pathlib import Path
from jupyter_client.utils import run_sync
from course_lib.grading import sandbox as sandbox_module
from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.course import REPO_ROOT
from course_lib.grading.execute import Sandbox, start_sandboxed_kernel
from course_lib.grading.sandbox import SandboxLimits, SandboxMounts

# What bwrap's setup window leaves when the grader dies in it: a sandbox none of whose
# processes has a parent-death signal armed.
sandbox_module.NAMESPACES.remove("--die-with-parent")
tree, kernels = prepare_sandbox(Path(sys.argv[1]), SandboxLimits().memory)
sandbox = Sandbox(SandboxMounts(str(tree), str(REPO_ROOT / "data")), SandboxLimits())
kernel = start_sandboxed_kernel(kernels, sandbox, [])
client = kernel.km.client()
client.start_channels()
run_sync(client.wait_for_ready)(timeout=120)
marker = os.environ["TMPDIR"]  # on the program's command line, for the test to find it
client.execute("import subprocess, sys\\n"
               "program = subprocess.Popen([sys.executable, '-c', 'import time; print(1, flush=True); time.sleep(600)', "
               f"{marker!r}], start_new_session=True, stdout=subprocess.PIPE)\\n"
               "program.stdout.readline()")  # the program runs
reply = run_sync(client.get_shell_msg)(timeout=60)
print("ready", reply["content"]["status"], flush=True)
time.sleep(1)  # the program settled in the sandbox (killed sooner, bwrap's init happens to take it along)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sandbox_whose_parent_death_signals_never_armed_still_ends_with_its_grader(tmp_path):
    """bwrap arms ``--die-with-parent`` only after it has set the sandbox up; a grading process
    killed before that leaves the sandbox to init. Here the sandbox never arms it at all, and
    its kernel has started a program of its own: the lifeline still ends every process of it
    once the grading process is gone."""
    from sandbox_helpers import require_bwrap

    require_bwrap()
    done = run_killed_grader(KILLED_WITH_A_BROKEN_PARENT_CHAIN, tmp_path)
    assert done.returncode == -signal.SIGKILL and "ready ok" in done.stdout, done.stdout + done.stderr[-2000:]
    deadline = time.monotonic() + 10
    while (left := sandboxed_processes(SCRATCH)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in left:
        subprocess.run(["pkill", "-9", "-f", str(SCRATCH)], check=False)
    assert not left, f"sandboxed processes outlived their grading process: {left}"


KILLED_WITH_ITS_BWRAP_HELD = """
import marshal, os, signal, subprocess, sys, tempfile, time
from pathlib import Path
from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.course import REPO_ROOT
from course_lib.grading.launcher import CONFIG_NAME
from course_lib.grading.sandbox import SandboxLimits, SandboxMounts, launcher_path, prepare_kernel

tree, kernels = prepare_sandbox(Path(sys.argv[1]), SandboxLimits().memory)
block = int(sys.argv[2])  # a pipe's read end; the test keeps its write end open
run = Path(tempfile.mkdtemp(prefix="course-lib-kernel-")) / "run"
config = prepare_kernel(run, SandboxMounts(str(tree), str(REPO_ROOT / "data")), [], SandboxLimits())
# The real launcher and bwrap, bwrap held (--userns-block-fd) right after it armed its
# parent-death signal, before its go-ahead: the window this grading process dies in.
info = os.open(os.devnull, os.O_WRONLY)
settings = marshal.loads((run / CONFIG_NAME).read_bytes())
settings["bwrap"][1:1] = ["--unshare-user", "--info-fd", str(info), "--userns-block-fd", str(block)]
(run / CONFIG_NAME).write_bytes(marshal.dumps(settings))
(run / "kernel.json").write_text("{}")
launcher = subprocess.Popen([sys.executable, "-I", "-S", str(launcher_path()), str(run / "kernel.json")],
                            pass_fds=(config.lifeline, block, info), cwd=run, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children")
deadline = time.monotonic() + 60
while not children.read_text().split() and time.monotonic() < deadline:  # bwrap has cloned it
    time.sleep(0.01)
print("held", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sandbox_left_blocked_by_a_killed_grader_is_ended_when_the_next_run_starts(tmp_path, monkeypatch):
    """bwrap's own step from arming its parent-death signal to its go-ahead, which no lifeline
    reaches, made to happen for sure: the grader dies while its bwrap is held there, and the
    sandbox's first process stays blocked. What a run does first (``remove_leftovers``) ends it
    and removes its kernel folder and that of a grader that exited before its kernel started,
    and leaves a live grader's kernel alone."""
    from sandbox_helpers import require_bwrap

    from course_lib.grading.autograde import prepare_sandbox
    from course_lib.grading.execute import Sandbox, start_sandboxed_kernel
    from course_lib.grading.leftovers import remove_leftovers
    from course_lib.grading.sandbox import SandboxLimits, SandboxMounts

    from jupyter_client.utils import run_sync

    require_bwrap()
    script = tmp_path / "held.py"
    script.write_text(KILLED_WITH_ITS_BWRAP_HELD)
    before = {p.name for p in SCRATCH.glob("course-lib-kernel-*")}  # earlier tests' (no process left)
    read, write = os.pipe()
    try:
        with open(tmp_path / "held.log", "w") as log:  # not a pipe: the blocked process keeps it open
            done = subprocess.run([sys.executable, str(script), str(tmp_path / "out"), str(read)], pass_fds=(read,),
                                  env=dict(os.environ, TMPDIR=str(SCRATCH)), cwd=REPO_ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=240)
        output = (tmp_path / "held.log").read_text()
        assert done.returncode == -signal.SIGKILL and "held" in output, output[-2000:]
        time.sleep(2)
        blocked = sandboxed_processes(SCRATCH, states=True)
        assert blocked, "the held bwrap left nothing behind: the window was not reproduced"

        # A kernel folder whose grader exited before starting the kernel, and a live grader's kernel.
        subprocess.run([sys.executable, "-c", "import tempfile; from pathlib import Path; "
                        "from course_lib.grading.leftovers import record_grader; "
                        f"record_grader(Path(tempfile.mkdtemp(prefix='course-lib-kernel-', dir={str(SCRATCH)!r})))"],
                       check=True, cwd=REPO_ROOT)
        folders = {p.name for p in SCRATCH.glob("course-lib-kernel-*")} - before
        assert len(folders) == 2, folders
        monkeypatch.setattr(tempfile, "tempdir", str(SCRATCH))
        tree, kernels = prepare_sandbox(tmp_path / "live", SandboxLimits().memory)
        live = start_sandboxed_kernel(kernels, Sandbox(SandboxMounts(str(tree), str(REPO_ROOT / "data")), SandboxLimits()), [])
        try:
            removed = remove_leftovers(SCRATCH)
            assert removed and len({r.scratch for r in removed}) == 1 and {r.scratch.name for r in removed} < folders, (
                removed, folders, blocked)
            deadline = time.monotonic() + 10
            while any(str(r.scratch) in p for p in sandboxed_processes(SCRATCH) for r in removed) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not [p for p in sandboxed_processes(SCRATCH) for r in removed if str(r.scratch) in p]
            assert not any((SCRATCH / name).exists() for name in folders)  # the blocked one's and the stale one
            assert live.scratch.is_dir()
            assert live.km.has_kernel and run_sync(live.km.is_alive)(), "a live grader's kernel was ended"
            assert remove_leftovers(SCRATCH) == []
        finally:
            live.close()
    finally:
        os.close(read)
        os.close(write)
        if sandboxed_processes(SCRATCH):
            subprocess.run(["pkill", "-9", "-f", str(SCRATCH)], check=False)
