"""Helpers of the sandbox suite (test_sandbox_*.py): whether bubblewrap can run here, the
attack notebooks, and one real autograde run where the attackers are graded alongside
innocent classmates (and after an earlier run whose files they try to reach).

Each attack is an answer cell of the fixture `tiny` (the rest of the notebook left as released,
so the attacker deserves 0 points); it embeds the host paths a hostile student would aim at.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from course_lib.grading.autograde import Settings, autograde
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.release import release
from course_lib.grading.submissions import Submission

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples" / "tiny"
MARK = "courselibattackmark"  # in every file and process an attack tries to leave behind
SETTINGS = Settings(jobs=2, cell_timeout=5, budget=40)


def require_bwrap() -> None:
    """Skip (saying why) when the sandbox cannot run here, or fail when
    COURSE_LIB_REQUIRE_SANDBOX=1 (CI installs bubblewrap)."""
    from course_lib.grading.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem:
        if os.environ.get("COURSE_LIB_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"COURSE_LIB_REQUIRE_SANDBOX=1 but {problem}")
        pytest.skip(problem)


def tree_hash(path: Path) -> str:
    """A hash of every file's relative path and bytes under ``path`` (or of the file)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def site_packages() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"])


def attack_notebook(code: str) -> dict:
    """The untouched release of `tiny` with ``code`` as its first answer cell."""
    nb = json.loads((EXAMPLES / "untouched.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "cce":
            cell["source"] = code
            break
    return nb


def attacks(paths: dict[str, str]) -> dict[str, str]:
    """student -> the attack cell's code; ``paths`` holds the host paths aimed at."""
    p = {k: repr(v) for k, v in paths.items()}
    report = "import json as _j\nprint('ATTACK', _j.dumps(got))\n"
    read = f"""
import os, posix, sqlite3
got = {{}}
def attempt(name, action):
    try:
        got[name] = str(action())[:20000]
    except BaseException as error:
        got[name] = 'failed: ' + type(error).__name__
src = {p['source']}
attempt('open', lambda: open(src).read())
attempt('dir_fd', lambda: os.read(os.open(os.path.basename(src), os.O_RDONLY, dir_fd=os.open(os.path.dirname(src), os.O_RDONLY)), 10**6))
attempt('link', lambda: (posix.link(src, 'copy.ipynb'), open('copy.ipynb').read())[1])
attempt('gradebook', lambda: sqlite3.connect({p['gradebook']}).execute('select * from grade').fetchall())
attempt('submissions', lambda: os.listdir({p['submissions']}))
attempt('solutions', lambda: open({p['solutions']}).read())
attempt('parent_mem', lambda: open('/proc/%d/mem' % os.getppid(), 'rb').read(100))
attempt('repo', lambda: os.listdir({p['repo']}))
attempt('home', lambda: os.listdir(os.path.expanduser('~root')))
"""
    tamper = f"""
import os, sqlite3, shutil
got = {{}}
def attempt(name, action):
    try:
        action(); got[name] = 'done'
    except BaseException as error:
        got[name] = 'failed: ' + type(error).__name__
attempt('source', lambda: open({p['source']}, 'a').write('{MARK}'))
attempt('tree', lambda: open({p['tree']} + '/course_lib/checks/common.py', 'a').write('\\npassed = lambda *a: True  # {MARK}'))
attempt('tree_inside', lambda: open('/grading/tree/course_lib/checks/common.py', 'a').write('# {MARK}'))
attempt('trigger', lambda: sqlite3.connect({p['gradebook']}).executescript(
    "create trigger {MARK} after update on grade begin update grade set auto_score = 0; end;"))
attempt('results', lambda: open({p['prior_result']}, 'w').write('{{}}'))
attempt('feedback', lambda: open({p['prior_feedback']}, 'w').write('{MARK}'))
attempt('rename', lambda: os.rename({p['prior_submission']}, {p['prior_submission']} + '.gone'))
"""
    write = f"""
import os
got = {{}}
def attempt(name, action):
    try:
        action(); got[name] = 'done'
    except BaseException as error:
        got[name] = 'failed: ' + type(error).__name__
attempt('data', lambda: open({p['data']} + '/{MARK}.txt', 'w').write('x'))
attempt('data_inside', lambda: open('/grading/data/{MARK}.txt', 'w').write('x'))
attempt('tmp', lambda: open('/tmp/{MARK}.bin', 'wb').write(b'x' * 64 * 2**20))
attempt('pth', lambda: open({p['site']} + '/{MARK}.pth', 'w').write('import os; os.system("touch /tmp/{MARK}.pth-ran")'))
attempt('home', lambda: open('/root/{MARK}.txt', 'w').write('x'))
attempt('work', lambda: open('{MARK}-own.txt', 'w').write('mine'))
"""
    kill = """
import os, signal
got = {}
for name, pid in (('ppid', os.getppid()), ('init', 1)):
    try:
        os.kill(pid, signal.SIGKILL); got[name] = 'sent'
    except BaseException as error:
        got[name] = 'failed: ' + type(error).__name__
"""
    survivors = f"""
import os, sys, time, _posixsubprocess, subprocess
got = {{}}
sleeper = [sys.executable, '-c', 'import time; time.sleep(600)', '{MARK}']
try:
    subprocess.Popen(sleeper, start_new_session=True); got['popen'] = 'started'
except BaseException as error:
    got['popen'] = 'failed: ' + type(error).__name__
pid, fd = os.forkpty()
if pid == 0:
    os.execv(sys.executable, sleeper)
got['forkpty'] = pid
if os.fork() == 0:  # a daemon: double fork, new session
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, sleeper)
    os._exit(0)
time.sleep(0.5)
"""
    fork_bomb = """
import os, sys, time
for _ in range(100000):
    try:
        os.fork()
    except OSError:
        break
time.sleep(600)
"""
    big_write = """
import os
got = {'written': 0}
for i in range(16):
    try:
        with open(f'big{i}.bin', 'wb') as f:
            for _ in range(64):
                f.write(b'\\0' * 2**20)
                got['written'] += 2**20
    except OSError as error:
        got[f'error{i}'] = type(error).__name__
"""
    display = """
from IPython.display import display
display({'text/plain': 'y' * 100_000_000}, raw=True)
display({'text/plain': 'z' * 5_000_000}, raw=True)
got = {'after': 'still running'}
"""
    ignore_signals = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    try:
        time.sleep(0.1)
    except BaseException:
        pass
"""
    close_sockets = """
import gc, zmq
for obj in gc.get_objects():
    if isinstance(obj, zmq.Socket):
        try:
            obj.close(linger=0)
        except Exception:
            pass
import time
time.sleep(600)
"""
    fork_bomb = fork_bomb.replace("time.sleep(600)\n", f"os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', '{MARK}'])\n")
    found = {
        "atk_read": read + report, "atk_tamper": tamper + report, "atk_write": write + report,
        "atk_kill": kill + report, "atk_survivors": survivors + report, "atk_fork_bomb": fork_bomb,
        "atk_big_write": big_write + report, "atk_display": display + report,
        "atk_ignore_signals": ignore_signals, "atk_close_sockets": close_sockets,
    }
    return found


def outside_uids(out: Path) -> set[int]:
    """The uids (outside their user namespace) the attack kernels of the run ran as."""
    import re

    return {int(uid) for path in out.glob("logs/atk_*.log") for uid in re.findall(r"course_lib sandbox: uid (\d+)", path.read_text())}


class AttackRun:
    """The outcome of the attack run and the hashes taken before it."""

    def __init__(self, **kw):
        self.__dict__.update(kw)
        self.by_student = {r.student: r for r in self.results}

    def printed(self, student: str) -> dict:
        """The dict the attack cell printed (empty when it printed none)."""
        nb = json.loads((self.out / "autograded" / student / "tiny.ipynb").read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", ""))
                if "ATTACK " in text:
                    return json.loads(text.split("ATTACK ", 1)[1].split("\n", 1)[0])
        return {}


def guarded(run_paths: dict[str, Path]) -> dict[str, str]:
    return {name: tree_hash(path) for name, path in run_paths.items()}


def attack_run(build: Path, settings: Settings = SETTINGS) -> AttackRun:
    """An earlier run (the `prior_*` students), then one run grading the attackers alongside
    innocent classmates (`reference`, `mistake_cce_no_clip`) and the earlier students (cached)."""
    course = Course(root=REPO_ROOT, source=HERE / "fixture_course", build=build, judges=HERE / "fixture_judges")
    release(course, "tiny")
    submissions = build / "submitted"
    submissions.mkdir()
    out = build / "grading"
    innocents = {"prior_reference": "reference", "prior_mistake": "mistake_softmax_no_max",
                 "reference": "reference", "mistake_cce_no_clip": "mistake_cce_no_clip"}
    for student, example in innocents.items():
        shutil.copy(EXAMPLES / f"{example}.ipynb", submissions / f"{student}.ipynb")
    prior = [Submission(s, submissions / f"{s}.ipynb") for s in ("prior_mistake", "prior_reference")]
    first = autograde(course, "tiny", prior, out=out, settings=settings, progress=False)
    tree = out / "_sandbox" / "tree"
    paths = {
        "source": course.source_notebook("tiny"), "gradebook": course.gradebook, "submissions": submissions,
        "solutions": REPO_ROOT / "course_lib" / "solutions" / "losses.py", "repo": REPO_ROOT, "tree": tree,
        "prior_result": out / "results" / "prior_reference.json", "prior_feedback": out / "feedback" / "prior_reference.html",
        "prior_submission": submissions / "prior_reference.ipynb", "data": REPO_ROOT / "data", "site": site_packages(),
    }
    for student, code in attacks({k: str(v) for k, v in paths.items()}).items():
        (submissions / f"{student}.ipynb").write_text(json.dumps(attack_notebook(code)))
    watched = {
        "source": course.source_notebook("tiny"), "tree": tree, "data": REPO_ROOT / "data", "site": site_packages(),
        "course_lib": REPO_ROOT / "course_lib", "prior_results": out / "results" / "prior_reference.json",
        "prior_results_2": out / "results" / "prior_mistake.json", "prior_feedback": out / "feedback" / "prior_reference.html",
        "prior_submission": submissions / "prior_reference.ipynb", "victim_submission": submissions / "reference.ipynb",
    }
    before = guarded(watched)
    tmp_before = set(os.listdir("/tmp"))
    results = autograde(course, "tiny", submissions, out=out, settings=settings, progress=False)
    return AttackRun(course=course, out=out, submissions=submissions, results=results, first=first,
                     watched=watched, before=before, tmp_before=tmp_before, paths=paths)


def live_processes() -> list[tuple[int, int, str]]:
    """(pid, uid, command line) of every process on the machine that has not exited (a zombie,
    dead and waiting for its parent, or for init when its sandbox was torn down, is left out)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = open(f"/proc/{entry}/status").read().splitlines()
            if any(line.startswith("State:") and line.split()[1] in ("Z", "X") for line in status):
                continue
            uid = int(next(line for line in status if line.startswith("Uid:")).split()[1])
            cmd = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, StopIteration, ValueError):
            continue
        found.append((int(entry), uid, cmd))
    return found


if __name__ == "__main__":  # run the attacks once and print what each got (e.g. against older code)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(**{**SETTINGS.__dict__, "sandbox": "--no-sandbox" not in sys.argv})
        run = attack_run(Path(tmp), settings)
        for r in run.results:
            print(r.student, r.status.value, r.score, r.notes[:2])
            print("   ", {k: str(v)[:80] for k, v in run.printed(r.student).items()} if (run.out / "autograded" / r.student).exists() else "")
        print({k: run.before[k] == tree_hash(p) if p.exists() else "missing" for k, p in run.watched.items()})
        print([p for p in live_processes() if MARK in p[2]])
