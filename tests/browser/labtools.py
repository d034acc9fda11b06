"""Driving JupyterLab for the browser tests: starting and stopping a server, named steps
with screenshots, and the notebook actions a user performs (open, type, run, read)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = Path(os.environ.get("COURSE_LIB_ARTIFACTS", ROOT / "artifacts")) / "browser"
SERVER_START_TIMEOUT = 90.0
# Playwright's default waits, in milliseconds: kernels and nbgrader run real code on 2 cores.
DEFAULT_TIMEOUT_MS = 60_000
if expect is not None:
    # `expect(...)` keeps its own 5 s default apart from the context's; JupyterLab's first
    # page load alone can take longer while the other test worker grades.
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab server; ``url(path)`` adds the token."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/lab") -> str:
        separator = "&" if "?" in path else "?"
        return f"{self.base}{path}{separator}token={self.token}"

    def api(self, path: str, method: str = "GET", body: dict | None = None, timeout: float = 10.0):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """Shut down through the REST API (which stops the kernels), then terminate."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self.api("/api/shutdown", method="POST")
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)


def _write_lab_settings(config_dir: Path) -> None:
    """User settings of this server only: no news or update checks popping up over the page."""
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell of a notebook (JupyterLab's default virtualizes cells scrolled out of
    # view, so a cell's DOM would exist only while it is on screen).
    notebook = config_dir / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True, exist_ok=True)
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


def start_lab(root: Path, name: str, env: dict[str, str] | None = None) -> LabServer:
    """Start ``jupyter lab`` serving ``root`` (its working directory too, so that nbgrader
    reads ``root/nbgrader_config.py`` when present) and wait until its API answers."""
    state = root.parent / f".jupyter-{name}"
    for sub in ("config", "data", "runtime", "ipython"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    _write_lab_settings(state / "config")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"server-{name}.log"
    token = secrets.token_hex(24)
    server_env = dict(os.environ)
    server_env.update({
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "IPYTHONDIR": str(state / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        # this interpreter's bin folder first: nbgrader's gradebook calls `alembic`
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    })
    server_env.pop("JUPYTER_TOKEN", None)
    server_env.update(env or {})
    last_error = ""
    for _attempt in range(2):  # a port taken between choosing and binding: try another once
        port = free_port()
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.password=",
            "--LabApp.news_url=",
            "--ServerApp.shutdown_no_activity_timeout=600",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        handle = open(log, "w")
        process = subprocess.Popen(command, cwd=root, env=server_env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        handle.close()
        server = LabServer(root, port, token, process, log)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = f"jupyter lab exited with code {process.returncode}:\n{server.log_tail()}"
                break
            try:
                server.api("/api/status", timeout=2)
                return server
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.25)  # polling the API: there is no event to wait on
        else:
            server.stop()
            raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT:.0f} s:\n{server.log_tail()}")
        if not re.search(r"port \d+ is (already in use|not available)|address already in use", last_error, re.I):
            break
    raise RuntimeError(last_error)


class Steps:
    """Named steps of one browser flow, each ending with a screenshot."""

    def __init__(self, page, folder: Path):
        self.page = page
        self.folder = folder
        self.count = 0
        self.taken: list[Path] = []
        self.missing: list[str] = []  # screenshots that could not be taken, and why
        self.console: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        page.on("console", lambda message: self.console.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def shot(self, name: str) -> Path | None:
        path = self.folder / f"{name}.png"
        for attempt in (1, 2):  # a page busy re-rendering can time a screenshot out: try once more
            try:
                self.page.screenshot(path=str(path), timeout=15_000)
                break
            except Exception as error:  # noqa: BLE001 - a screenshot must never hide the step's own error
                if attempt == 2:
                    self.missing.append(f"{path.name}: {type(error).__name__}: {str(error).splitlines()[0]}")
                    return None
        self.taken.append(path)
        return path

    @contextlib.contextmanager
    def __call__(self, title: str):
        self.count += 1
        name = f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}"
        try:
            yield
        except Exception as error:
            shot = self.shot(f"{name}-FAILED")
            where = f" (screenshot {shot.relative_to(ROOT) if shot and shot.is_relative_to(ROOT) else shot})"
            console = ("\nbrowser console errors:\n  " + "\n  ".join(self.console[-10:])) if self.console else ""
            raise AssertionError(
                f"step {self.count} '{title}' failed{where}: {type(error).__name__}: {error}{console}") from error
        self.shot(name)


# --------------------------------------------------------------------------- a user's actions

def open_notebook(page, server: LabServer, relative: str):
    """Open ``relative`` (a path under the server's root) in JupyterLab and wait until the
    notebook is rendered and its kernel is idle; returns the notebook panel locator."""
    page.goto(server.url(f"/lab/tree/{relative}?reset"))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
    panel.locator(".jp-Cell").first.wait_for(state="visible")
    wait_kernel_idle(page)
    return panel


def wait_kernel_idle(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until the notebook's kernel status says Idle (toolbar indicator)."""
    page.wait_for_function(
        """() => {
            const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            return s && s.getAttribute('data-status') === 'idle';
        }""",
        timeout=timeout_ms,
    )


def cell(panel, index: int):
    return panel.locator(".jp-Notebook .jp-Cell").nth(index)


PROMPT_JS = """([index]) => {
    const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
    const prompt = cells[index] && cells[index].querySelector('.jp-InputArea-prompt');
    return prompt ? prompt.textContent : null;
}"""


def run_cell(page, panel, index: int, timeout_ms: int = 2 * DEFAULT_TIMEOUT_MS) -> None:
    """Run cell ``index`` as a user does (select it, Ctrl+Enter) and wait until it has run
    (a new execution count in its prompt). A press that did not queue the cell (no ``[*]``:
    the kernel was not connected yet, or the key was lost) is repeated."""
    target = cell(panel, index)
    target.scroll_into_view_if_needed()
    prompt = target.locator(".jp-InputArea-prompt")
    before = prompt.inner_text()
    for _attempt in range(3):
        prompt.click()
        # the page can still move under the pointer (MathJax typesetting): press only once
        # this very cell is the active one
        expect(target).to_have_class(re.compile(r"\bjp-mod-active\b"))
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                f"([index, before]) => {{ const t = ({PROMPT_JS})([index]); "
                f"return t !== null && t !== before && /\\[(\\*|\\d+)\\]/.test(t); }}",
                arg=[index, before], timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - not queued: press again
            print(f"cell {index}: not queued 10 s after Ctrl+Enter (kernel {kernel_status(page)!r}): pressing again")
    else:
        raise AssertionError(f"cell {index} did not start running after 3 presses of Ctrl+Enter "
                             f"(prompt {prompt.inner_text()!r}, kernel {kernel_status(page)!r})")
    try:
        page.wait_for_function(
            f"([index]) => {{ const t = ({PROMPT_JS})([index]); return t !== null && /\\[\\d+\\]/.test(t); }}",
            arg=[index], timeout=timeout_ms)
    except Exception as error:
        raise AssertionError(f"cell {index} did not finish within {timeout_ms / 1000:.0f} s "
                             f"(prompt {prompt.inner_text()!r}, kernel {kernel_status(page)!r})") from error


def kernel_status(page) -> str | None:
    indicator = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator").first
    try:
        return indicator.get_attribute("data-status", timeout=2_000)
    except Exception:  # noqa: BLE001 - only used in failure messages
        return None


def set_cell_source(page, panel, index: int, text: str) -> None:
    """Replace a code cell's text the way a student pastes: select all, insert the text."""
    target = cell(panel, index)
    editor = target.locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    expect(target.locator(".cm-editor")).to_have_class(re.compile(r"\bcm-focused\b"))  # typing goes here
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")  # back to command mode


def save_notebook(page, panel) -> None:
    """Save the open notebook as a student does (Ctrl+S in command mode) and wait until
    JupyterLab shows it clean. A press that did not save (the key was lost on a loaded
    machine) is repeated; the last try clicks the toolbar's save button."""
    dirty = page.locator(".jp-mod-current.jp-mod-dirty")
    for attempt in range(3):
        if attempt < 2:
            panel.locator(".jp-Notebook").first.focus()
            page.keyboard.press("Control+s")
        else:
            panel.locator('[data-command="docmanager:save"]').first.click()
        try:
            expect(dirty).to_have_count(0, timeout=15_000)
            return
        except AssertionError:
            print(f"notebook still unsaved 15 s after save attempt {attempt + 1}: trying again")
    raise AssertionError("the notebook stayed unsaved after two Ctrl+S presses and the toolbar's save button")


def cell_text(panel, index: int) -> str:
    """The editor text of a cell (CodeMirror lines joined by newlines)."""
    lines = cell(panel, index).locator(".cm-content .cm-line").all_inner_texts()
    # an empty line renders as a <br>, whose inner text is a newline
    return "\n".join(line.replace("\u200b", "").replace("\n", "") for line in lines)


def output_text(panel, index: int) -> str:
    return cell(panel, index).locator(".jp-OutputArea").inner_text()
