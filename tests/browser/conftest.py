"""End-to-end browser fixtures: a real JupyterLab server (with nbgrader's lab and server
extensions as the package installs them) on localhost, driven by Debian's ``chromium``
through Playwright. The server and the user's actions live in ``labtools``.

* ``lab_server_factory(root, name, env)`` starts ``jupyter lab`` serving ``root`` (a temporary
  folder) on a free port with a random token, ``--allow-root`` only when running as root, no
  browser opened, its own Jupyter config/data/runtime folders; every server is shut down
  through the REST API (then terminated) at the end of the session at the latest.
* ``browser`` launches ``chromium`` headless with ``executable_path`` (no browser download);
  ``page`` is a fresh context and tab per test.
* ``steps``: ``with steps("run the cce test"):`` saves ``artifacts/browser/<test>/<NN>-<step>.png``
  when the step ends; when it fails it saves ``...-FAILED.png`` and re-raises with the step's
  number and title in the message.
* ``layers_course``: a temporary copy of the course (the layers assignment and the project's
  nbgrader_config.py) with the student release built by the grading pipeline.

Without Chromium or Playwright the tests are skipped with the reason; with
``COURSE_LIB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) they fail instead.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from .labtools import ARTIFACTS, DEFAULT_TIMEOUT_MS, NOTEBOOKS, ROOT, LabServer, Steps, start_lab

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM = "Debian's chromium is not installed (no /usr/bin/chromium; `apt-get install chromium`, as .ci/run does)"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in headless Chromium (needs Debian's chromium and playwright)")


def chromium_path() -> str | None:
    """Debian's chromium: ``$COURSE_LIB_CHROMIUM`` when set (and then only that), else
    /usr/bin/chromium, else ``chromium`` on PATH."""
    override = os.environ.get("COURSE_LIB_CHROMIUM")
    for candidate in [override] if override else ["/usr/bin/chromium", shutil.which("chromium")]:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def no_chromium() -> str:
    override = os.environ.get("COURSE_LIB_CHROMIUM")
    if override:
        return f"no chromium executable at COURSE_LIB_CHROMIUM={override}"
    return NO_CHROMIUM


def unavailable(reason: str):
    """Skip (or fail, where CI requires the browser tests) with a clear reason."""
    if os.environ.get("COURSE_LIB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here (COURSE_LIB_REQUIRE_BROWSER=1) but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lab_server_factory():
    """``start(root, name, env)``: a JupyterLab server, stopped at the end of the session
    (fixtures with a narrower scope stop theirs earlier with ``server.stop()``)."""
    if chromium_path() is None:  # do not start servers for tests that will skip
        unavailable(no_chromium())
    started: list[LabServer] = []

    def start(root: Path, name: str, env: dict[str, str] | None = None) -> LabServer:
        server = start_lab(Path(root), name, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        unavailable(no_chromium())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except Exception as error:  # noqa: BLE001 - any launch failure is reported with its reason
            unavailable(f"chromium at {executable} does not start under Playwright: {error}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def steps(page, request):
    """``with steps("title"):`` runs one named step of a flow and screenshots it."""
    name = f"{request.module.__name__.split('.')[-1]}.{request.node.name}"
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    recorder = Steps(page, folder)
    yield recorder
    print(f"\n{len(recorder.taken)} screenshots in {folder}")
    for problem in recorder.missing:
        print(f"screenshot not taken: {problem}")


@dataclass
class LayersCourse:
    """A temporary instructor course tree holding the layers assignment and its release."""

    root: Path
    course: object  # course_lib.grading.course.Course
    release: Path  # the released layers folder


@pytest.fixture(scope="session")
def layers_course(tmp_path_factory) -> LayersCourse:
    """Copy the layers source and the project's nbgrader_config.py into a temporary course
    and build the student release with the grading pipeline (nbgrader + ``?`` blanks)."""
    if chromium_path() is None:  # do not spend the release's time when the tests will skip
        unavailable(no_chromium())
    from course_lib.grading.course import Course
    from course_lib.grading.release import release

    root = tmp_path_factory.mktemp("course") / "course"
    shutil.copytree(NOTEBOOKS / "layers", root / "notebooks" / "layers",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course(root=root, source=root / "notebooks", build=root / "build")
    return LayersCourse(root, course, release(course, "layers"))
