"""Running a notebook for grading: one kernel (in its OS sandbox unless the instructor turned
it off), a per-cell timeout, a whole-notebook budget, bounded output, a kernel that ignores
interrupts killed, a port collision retried once (TCP, without the sandbox).

Everything read back from the kernel is bounded before it is parsed or stored: ZMQ refuses
any message over MESSAGE_LIMIT bytes (the connection is dropped before the message is read;
the grader notes it on the cell and connects the output channel again, or stops the notebook
when another channel was cut), and each output of any kind, each cell's outputs and the whole
notebook's are capped in characters.

Whether a graded cell passes is not decided here: after each graded cell ``after_graded`` gets
a ``Prober`` that runs the judge's probes in the kernel (see ``pipeline`` and ``judge``).
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from zmq.utils.monitor import parse_monitor_message

from course_lib.probe import MIME as PROBE_MIME
from course_lib.probe import REQUEST_FIELD as PROBE_REQUEST_FIELD
from course_lib.grading.sandbox import (FONT_CACHE, KERNEL_NAME, PLAIN_KERNEL_NAME, SandboxLimits, SandboxMounts, font_cache_files,
                                        prepare_kernel, remove_cgroups)

MESSAGE_LIMIT = 8 * 1024**2        # bytes of one ZMQ message from the kernel
MAX_RECONNECTS = 3                 # output channels cut by oversized messages before the notebook stops
RECONNECT_TIMEOUT = 10.0           # seconds for a new output channel to hear from the kernel
OUTPUT_ITEM_LIMIT = 100_000        # characters of one output (stream, display, result, error)
OUTPUT_LIMIT = 200_000             # characters of output kept per cell
NOTEBOOK_OUTPUT_LIMIT = 2_000_000  # characters of output kept per notebook
PROBE_TIMEOUT = 5.0
INTERRUPT_GRACE = 1                # seconds an interrupted cell gets to send its last output (nbclient: an int)
# Characters of a probe's reply (base64 of an npz): within the kernel's own cut of a message.
PROBE_REPLY_LIMIT = 3 * 1024**2


@dataclass
class ExecutionLimits:
    """Per-cell timeout and whole-notebook budget (seconds)."""

    cell_timeout: float = 20.0
    budget: float = 120.0


AfterGraded = Callable[[int, "Prober | None"], None]


@dataclass
class Execution:
    """What running a notebook did: per code cell ``ok``/``error``/``timeout``/``not run``,
    why the run stopped early (if it did), how many processes of the sandbox were still alive
    after the kernel's shutdown (and were killed), and the cells whose output channel was cut
    by a message over MESSAGE_LIMIT (and connected again)."""

    status: dict[int, str] = field(default_factory=dict)
    stopped: str | None = None
    retried: str | None = None
    seconds: float = 0.0
    leftovers: int = 0
    cut: list[int] = field(default_factory=list)  # cells that sent a message over MESSAGE_LIMIT


class KernelStartError(RuntimeError):
    """The kernel did not start; ``log`` holds its stderr."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class Sandbox:
    """Run the kernel in its OS sandbox (see ``sandbox.py``): what it mounts, its limits."""

    mounts: SandboxMounts
    limits: SandboxLimits = SandboxLimits()


WATCHED_EVENTS = zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_DELAYED | zmq.EVENT_CONNECT_RETRIED


class ChannelCut(RuntimeError):
    """ZMQ dropped a connection to the kernel (a message over MESSAGE_LIMIT) and the grader
    cannot go on with this kernel; the message says why in the student's terms."""


TOO_BIG_NOTE = (f"[the kernel sent a message over the {MESSAGE_LIMIT // 1024**2} MB limit: it was dropped unread, "
                f"with the rest of this cell's output]")


class BoundedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets drop a connection that sends a message over MESSAGE_LIMIT
    bytes, before reading it (libzmq's ZMQ_MAXMSGSIZE), and that waits for a new kernel no
    longer than it must."""

    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_LIMIT)
        # The client connects before the kernel has bound its ipc sockets: retry every 10 ms, not 100.
        context.setsockopt(zmq.RECONNECT_IVL, 10)
        return context

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        """jupyter_client's wait, without its last step (reading IOPub until it has been quiet
        for 0.2 s, a fixed 0.2 s per kernel): nbclient skips every IOPub message whose parent
        is not the cell it runs, so the kernel_info replies' status messages may stay queued."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:  # IOPub is connected once it delivers this request's status
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready

    probe_request: str | None = None  # set by the Prober: sent with the next execute request

    def execute(self, code: str, silent: bool = False, store_history: bool = True, user_expressions=None,
                allow_stdin: bool | None = None, stop_on_error: bool = True) -> str:
        """jupyter_client's ``execute``; while a probe runs, its request goes in the message's
        content (``probe.REQUEST_FIELD``), not in the code, which IPython would tokenise."""
        if self.probe_request is None:
            return super().execute(code, silent, store_history, user_expressions, allow_stdin, stop_on_error)
        content = {"code": code, "silent": silent, "store_history": store_history, "user_expressions": user_expressions or {},
                   "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin, "stop_on_error": stop_on_error,
                   PROBE_REQUEST_FIELD: self.probe_request}
        msg = self.session.msg("execute_request", content)
        self.shell_channel.send(msg)
        return msg["header"]["msg_id"]


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager that notices its killed kernel is gone within 10 ms (jupyter_client
    polls every 100 ms, a tenth of a second per submission)."""

    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, 0.01))


def _size(content: dict) -> int:
    """Characters of an output message's content (any output type)."""
    return (len(str(content.get("text", ""))) + sum(len(str(v)) for v in (content.get("data") or {}).values())
            + len(str(content.get("ename", ""))) + len(str(content.get("evalue", "")))
            + sum(len(str(line)) for line in (content.get("traceback") or [])))


def _shrink(msg_type: str, content: dict, room: int) -> None:
    """Cut ``content`` in place to at most ``room`` characters (keeping what the report needs: an
    error's name and the head of its message)."""
    if msg_type == "stream":
        content["text"] = str(content.get("text", ""))[:room]
    elif msg_type == "error":
        content["evalue"] = str(content.get("evalue", ""))[: max(200, room // 2)]
        content["traceback"] = []
    else:
        size = sum(len(str(v)) for v in (content.get("data") or {}).values())
        content["data"] = {"text/plain": f"[an output of {size} characters was dropped]"}
        content["metadata"] = {}


class LimitedClient(NotebookClient):
    """A NotebookClient that bounds every output (per output, per cell, per notebook) and, while
    a probe runs, keeps only the probe's reply."""

    timed_out: bool = False
    notebook_used: int = 0
    probe_limit: int | None = None
    probe_oversize: bool = False
    cut: bool = False          # an output channel was cut since the caller reset this (and connected again)
    reconnects: int = 0
    monitors: dict | None = None

    async def watch_channels(self) -> None:
        """Watch the connections to the kernel: ZMQ drops one whose message is over
        MESSAGE_LIMIT bytes (and would never connect it again)."""
        self.monitors = {}
        for name in ("iopub", "shell", "stdin", "control"):
            channel = getattr(self.kc, f"_{name}_channel", None)
            if channel is not None and channel.socket is not None:
                self.monitors[name] = channel.socket.get_monitor_socket(WATCHED_EVENTS)

    def unwatch_channels(self) -> None:
        for monitor in (self.monitors or {}).values():
            monitor.close(linger=0)
        self.monitors = None

    async def _cut_channels(self) -> list[str]:
        """The channels ZMQ cut since the last look: disconnected and not trying again (a
        socket the kernel closed is retried; one cut for a message over the limit never is)."""
        cut = []
        for name, monitor in (self.monitors or {}).items():
            state = None
            while await monitor.poll(0):
                event = parse_monitor_message(await monitor.recv_multipart())["event"]
                state = "cut" if event == zmq.EVENT_DISCONNECTED else "retrying"
            if state == "cut":
                cut.append(name)
        return cut

    async def _reconnect_output(self) -> None:
        """A new output (iopub) channel, ready once it hears from the kernel."""
        kc = self.kc
        self.monitors.pop("iopub").close(linger=0)
        kc._iopub_channel.close()
        kc._iopub_channel = None
        channel = kc.iopub_channel
        channel.start()
        self.monitors["iopub"] = channel.socket.get_monitor_socket(WATCHED_EVENTS)
        deadline = time.monotonic() + RECONNECT_TIMEOUT
        while time.monotonic() < deadline:
            kc.kernel_info()  # its busy/idle (or ipykernel's welcome) shows the channel works
            try:
                await channel.get_msg(timeout=0.5)
                return
            except Empty:
                continue
        raise ChannelCut("the kernel's output channel could not be connected again after it sent a message over "
                         f"the {MESSAGE_LIMIT // 1024**2} MB limit")

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        iopub_timeout = self.iopub_timeout
        try:
            result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            self.iopub_timeout = iopub_timeout
        cut = await self._cut_channels()
        if not cut:
            return result
        other = [name for name in cut if name != "iopub"]
        if other:
            raise ChannelCut(f"the kernel sent a message over the {MESSAGE_LIMIT // 1024**2} MB limit on its "
                             f"{other[0]} channel, which was cut")
        self.cut, self.reconnects = True, self.reconnects + 1
        if self.reconnects > MAX_RECONNECTS:
            raise ChannelCut(f"the kernel sent messages over the {MESSAGE_LIMIT // 1024**2} MB limit "
                             f"{self.reconnects} times; the grader stopped it")
        await self._reconnect_output()
        return result

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own at class creation

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        # nbclient then waits up to iopub_timeout (4 s) for the cell's last output: a kernel that
        # obeys the interrupt sends it within milliseconds, one that ignores it never does.
        self.iopub_timeout = min(self.iopub_timeout, INTERRUPT_GRACE)
        return await super()._async_handle_timeout(timeout, cell)

    def _update_display_id(self, display_id, msg):
        if _size(msg.get("content", {})) <= OUTPUT_ITEM_LIMIT:
            super()._update_display_id(display_id, msg)

    def output(self, outs, msg, display_id, cell_index):
        if self.probe_limit is not None:
            # A probe keeps only its reply (display_data of the probe's MIME type), within its cap.
            data = msg.get("content", {}).get("data") or {}
            reply = data.get(PROBE_MIME) if msg["msg_type"] == "display_data" and isinstance(data, dict) else None
            if isinstance(reply, str) and len(reply) <= self.probe_limit:
                outs[:] = [nbformat.v4.new_output("display_data", data={PROBE_MIME: reply})]
            elif reply is not None:
                self.probe_oversize = True
            return None
        msg_type = msg["msg_type"]
        content = msg.get("content", {})
        used = sum(_size(o) for o in outs if not o.get("metadata", {}).get("course_lib_truncated"))
        room = max(0, min(OUTPUT_ITEM_LIMIT, OUTPUT_LIMIT - used, NOTEBOOK_OUTPUT_LIMIT - self.notebook_used))
        size = _size(content)
        if size > room:
            if room > 0 or msg_type == "error":
                # One message can be larger than the whole limit (print('x' * 100_000_000)): keep its head.
                _shrink(msg_type, content, room)
                self.notebook_used += _size(content)
                super().output(outs, msg, display_id, cell_index)
            if not any(o.get("metadata", {}).get("course_lib_truncated") for o in outs):
                note = nbformat.v4.new_output("display_data", data={
                    "text/plain": f"[output truncated: {OUTPUT_ITEM_LIMIT} characters per output, {OUTPUT_LIMIT} per cell,"
                                  f" {NOTEBOOK_OUTPUT_LIMIT} per notebook]"})
                note.metadata["course_lib_truncated"] = True
                outs.append(note)
            return None
        self.notebook_used += size
        return super().output(outs, msg, display_id, cell_index)


def run_graded_notebook(
    nb: nbformat.NotebookNode,
    graded: set[int],
    workdir: Path,
    kernel_dir: Path,
    env: dict[str, str],
    limits: ExecutionLimits,
    log_path: Path,
    ports: list[int] | None = None,
    sandbox: Sandbox | None = None,
    after_graded: AfterGraded | None = None,
    started: StartedKernel | None = None,
    slot: int = 0,
    skip: frozenset[int] = frozenset(),
) -> Execution:
    """Execute ``nb`` in place in a grading kernel, but for the code cells ``skip`` (never sent
    to the kernel; their status is "skipped"); retry once on "Address already in use".

    With ``sandbox`` the kernel runs in its bwrap sandbox, whose working folder holds copies
    of ``workdir``'s files, and talks to the grader over ipc sockets (``env`` and ``ports`` are
    not used: the sandbox sets the kernel's whole environment): ``started``, a kernel started
    ahead for the same sandbox and files, if it is alive, else a new one in uid ``slot``
    (``started`` is closed either way). Without it, the kernel runs as the grader's user in
    ``workdir`` with ``env``, over TCP (``ports``, shell, iopub, stdin, control, hb, fixes the
    first attempt's ports)."""
    try:
        return _run(nb, graded, workdir, kernel_dir, env, limits, log_path, ports, sandbox, after_graded, started, slot,
                    skip)
    except KernelStartError as error:
        if "Address already in use" not in error.log:
            raise
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        execution = _run(nb, graded, workdir, kernel_dir, env, limits, log_path, None, sandbox, after_graded, skip=skip)
        execution.retried = "the kernel's port was taken (Address already in use); retried once"
        return execution


KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False"]


@dataclass
class StartedKernel:
    """A sandboxed kernel whose process is started (it may still be booting): its manager, its
    socket folder (``scratch``), its cgroups, the file its stderr goes to, ``key``, what it was
    started for (kernel folder, mounts, limits, working files), and its uid ``slot``."""

    km: AsyncKernelManager
    scratch: Path
    cgroups: list[str]
    log: Path
    key: tuple
    slot: int = 0

    def close(self) -> int:
        """Kill the kernel and whatever is left of its sandbox; returns the processes killed
        beyond the kernel's own."""
        try:
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:
            pass
        try:
            return remove_cgroups(self.cgroups)
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)


def sandbox_key(kernel_dir: Path, sandbox: Sandbox, files: list[Path]) -> tuple:
    """What a sandboxed kernel is started for: one started for the same key may run any
    submission of it (the working files by name and content)."""
    import hashlib

    return (str(Path(kernel_dir).resolve()), sandbox.mounts, sandbox.limits,
            tuple(sorted((f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files)))


def start_sandboxed_kernel(kernel_dir: Path, sandbox: Sandbox, files: list[Path], log: Path | None = None,
                           slot: int = 0) -> StartedKernel:
    """Start a kernel in a fresh sandbox whose working folder holds copies of ``files``; its
    stderr goes to ``log`` (default: a file in its socket folder). Returns once the process is
    started, not once the kernel answers."""
    # The socket folder: short (an ipc path has at most 107 bytes), fresh, bound into the sandbox.
    scratch = Path(tempfile.mkdtemp(prefix="course-lib-kernel-"))
    run = scratch / "run"
    log = log or scratch / "kernel.log"
    cgroups: list[str] = []
    try:
        config = prepare_kernel(run, sandbox.mounts, files, sandbox.limits, font_cache_files(Path(kernel_dir) / FONT_CACHE),
                                slot=slot)
        cgroups = config.cgroups
        km = GradingKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]),
                                  transport="ipc", ip=str(run / "kernel"), connection_file=str(run / "kernel.json"))
        km.cache_ports = False
        kernel = StartedKernel(km, scratch, cgroups, log, sandbox_key(kernel_dir, sandbox, files), slot)
        with open(log, "w") as stream:
            run_sync(km.start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS), cwd=str(run),
                                      env={"PATH": "/usr/local/bin:/usr/bin:/bin"}, stderr=stream, stdout=stream,
                                      pass_fds=(config.lifeline,))
        return kernel
    except BaseException:
        remove_cgroups(cgroups)
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _run(nb, graded, workdir, kernel_dir, env, limits, log_path, ports, sandbox, after_graded,
         started: StartedKernel | None = None, slot: int = 0, skip: frozenset[int] = frozenset()) -> Execution:
    execution = Execution()
    kernel = None
    if sandbox is not None:
        files = sorted(p for p in Path(workdir).iterdir() if p.is_file())
        if started is not None and started.key == sandbox_key(kernel_dir, sandbox, files) and _alive(started):
            kernel = started  # started ahead for this sandbox and these files
        else:
            if started is not None:
                slot = started.slot
                started.close()
            kernel = start_sandboxed_kernel(kernel_dir, sandbox, files, log=log_path, slot=slot)
        km, cwd = kernel.km, str(kernel.scratch / "run")
    else:
        if started is not None:
            started.close()
        km = GradingKernelManager(kernel_name=PLAIN_KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
        cwd = str(workdir)
        if ports is not None:
            km.cache_ports = False  # otherwise the provisioner picks its own ports
            km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port = ports
    km.client_factory = BoundedKernelClient
    client = LimitedClient(
        nb, km=km, timeout=limits.cell_timeout, allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": "the cell ran over its time limit", "traceback": []},
        startup_timeout=60, shutdown_kernel="immediate", record_timing=False,
        resources={"metadata": {"path": cwd}},
        extra_arguments=list(KERNEL_ARGUMENTS),
    )
    start = time.monotonic()
    kernel_log = kernel.log if kernel is not None else Path(log_path)
    try:
        with open(log_path, "a" if kernel is not None else "w") as log:
            try:
                if kernel is None:
                    client.start_new_kernel(env=env, stderr=log, stdout=log)
                client.start_new_kernel_client()
                run_sync(client.watch_channels)()
            except Exception as error:
                log.flush()
                text = kernel_log.read_text(errors="replace")[-20_000:]
                try:
                    run_sync(km.shutdown_kernel)(now=True)
                except Exception:
                    pass
                raise KernelStartError(f"the kernel did not start: {type(error).__name__}: {error}", text) from None
            try:
                _run_cells(client, km, nb, graded, limits, start, execution, after_graded, skip)
            finally:
                # The client does not own a kernel manager it was given: stop the kernel here.
                try:
                    client.unwatch_channels()
                    if client.kc is not None:
                        client.kc.stop_channels()
                except Exception:
                    pass
                try:
                    run_sync(km.shutdown_kernel)(now=True)
                except Exception:
                    pass
    finally:
        if kernel is not None:
            if kernel.log != Path(log_path):  # a kernel started ahead wrote its stderr in its own folder
                _append(Path(log_path), kernel.log)
            # Killing bwrap ends the sandbox's pid namespace; the cgroups catch anything else.
            execution.leftovers = kernel.close()
    execution.seconds = time.monotonic() - start
    return execution


def _alive(kernel: StartedKernel) -> bool:
    try:
        return kernel.km.has_kernel and run_sync(kernel.km.is_alive)()
    except Exception:
        return False


def _append(log_path: Path, kernel_log: Path) -> None:
    """Add the head of what a kernel started ahead wrote to its stderr to the submission's log."""
    try:
        with open(kernel_log, "rb") as source, open(log_path, "ab") as target:
            target.write(source.read(1024**2))
    except OSError:
        pass


def _run_cells(client, km, nb, graded, limits, start, execution, after_graded, skip) -> None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if index in skip:
            execution.status[index] = "skipped"
            continue
        if execution.stopped:
            execution.status[index] = "not run"
            continue
        remaining = limits.budget - (time.monotonic() - start)
        if remaining <= 0:
            execution.stopped = f"the notebook ran over its time budget of {limits.budget:.0f} s"
            execution.status[index] = "not run"
            continue
        client.timeout = max(1, int(min(limits.cell_timeout, remaining)))
        client.timed_out = client.cut = False
        try:
            client.execute_cell(cell, index)
            if client.timed_out:
                execution.status[index] = "timeout"
                cell.outputs.append(nbformat.v4.new_output(
                    "error", ename="Timeout", evalue=f"this cell ran longer than {client.timeout} s and was stopped", traceback=[]))
                limit = client.timeout  # _responsive sets the probe's own timeout
                if not _responsive(client, index):
                    execution.stopped = f"cell {index} ran over the {limit} s limit and ignored the interrupt"
            else:
                failed = any(o.output_type == "error" for o in cell.outputs)
                execution.status[index] = "error" if failed else "ok"
            if client.cut:
                cell.outputs.append(nbformat.v4.new_output("display_data", data={"text/plain": TOO_BIG_NOTE},
                                                           metadata={"course_lib_cut": True}))
                execution.cut.append(index)
        except ChannelCut as error:
            execution.status[index] = "error"
            cell.outputs.append(nbformat.v4.new_output("error", ename="ChannelCut", evalue=str(error), traceback=[]))
            execution.stopped = f"cell {index}: {error}"
        except DeadKernelError:
            execution.status[index] = "error"
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="KernelDied", evalue="the kernel died while running this cell (os._exit, a crash or the memory cap)", traceback=[]))
            execution.stopped = f"the kernel died in cell {index}"
        except Exception as error:  # a protocol failure: stop this notebook only
            execution.status[index] = "error"
            execution.stopped = f"cell {index} could not be run: {type(error).__name__}: {str(error)[:200]}"
        if after_graded is not None and index in graded:
            after_graded(index, None if execution.stopped else Prober(client, index, limits, execution,
                                                                      deadline=start + limits.budget))


def _responsive(client, index) -> bool:
    """After an interrupted timeout: whether the kernel runs `pass` within PROBE_TIMEOUT."""
    probe = nbformat.v4.new_code_cell("pass")
    client.timeout, client.timed_out = PROBE_TIMEOUT, False
    cell = client.nb.cells[index]
    try:
        client.execute_cell(probe, index)
    except Exception:
        return False
    finally:
        client.nb.cells[index] = cell  # execute_cell stores the probe at ``index``
    return not client.timed_out


class ProbeFailed(RuntimeError):
    """Running a probe failed; the message says why in the student's terms."""


class Prober:
    """Runs probe code in the live kernel right after graded cell ``index`` and returns the
    reply's base64 text (the last display of the probe's MIME type), bounded by
    ``limits.probe_reply``. A timeout or a dead kernel stops the notebook like a cell would."""

    def __init__(self, client, index: int, limits, execution: Execution, deadline: float | None = None):
        self.client, self.index, self.limits, self.execution = client, index, limits, execution
        self.deadline = deadline  # time.monotonic() at which the notebook's budget ends: probes count too

    def __call__(self, code: str, request: str | None = None) -> str:
        """``code`` run as a cell; ``request`` (base64), when given, travels beside it in the
        execute request (see ``BoundedKernelClient.execute``)."""
        client, execution = self.client, self.execution
        remaining = self.limits.cell_timeout if self.deadline is None else self.deadline - time.monotonic()
        if remaining <= 0 and not execution.stopped:
            execution.stopped = f"the notebook ran over its time budget of {self.limits.budget:.0f} s"
        if execution.stopped:
            raise ProbeFailed(f"your code could not be run: {execution.stopped}")
        cell = nbformat.v4.new_code_cell(code)
        saved = client.nb.cells[self.index]
        client.timeout = max(1, int(min(self.limits.cell_timeout, remaining)))
        client.timed_out = client.cut = False
        client.probe_limit, client.probe_oversize = PROBE_REPLY_LIMIT, False
        client.kc.probe_request = request
        try:
            client.execute_cell(cell, self.index, store_history=False)
        except ChannelCut as error:
            execution.stopped = f"the tests of cell {self.index}: {error}"
            raise ProbeFailed(str(error)) from None
        except DeadKernelError:
            execution.stopped = f"the kernel died while the tests of cell {self.index} called your code"
            raise ProbeFailed("the kernel died while the tests called your code (os._exit, a crash or the memory limit)") from None
        except Exception as error:  # noqa: BLE001 - a protocol failure stops this notebook only
            execution.stopped = f"the tests of cell {self.index} could not run: {type(error).__name__}"
            raise ProbeFailed(f"the tests could not call your code ({type(error).__name__})") from None
        finally:
            client.kc.probe_request = None
            client.probe_limit = None
            client.nb.cells[self.index] = saved  # execute_cell stores the probe cell at ``index``
        if client.timed_out:
            limit = client.timeout
            if not _responsive(client, self.index):
                execution.stopped = f"the tests of cell {self.index} ran over the {limit} s limit and the kernel ignored the interrupt"
            raise ProbeFailed(f"your code did not finish within {limit} s when the tests called it")
        if client.cut:
            raise ProbeFailed(f"what your code sent back was over the {MESSAGE_LIMIT // 1024**2} MB message limit")
        if client.probe_oversize:
            raise ProbeFailed("what your code returned was larger than the grader accepts")
        replies = [o for o in cell.outputs if o.get("output_type") == "display_data" and PROBE_MIME in o.get("data", {})]
        if not replies:
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            why = f" ({errors[0].get('ename')})" if errors else ""
            raise ProbeFailed(f"the tests could not call your code{why}: is something in the notebook replacing Python's or "
                              f"IPython's own machinery?")
        return replies[-1]["data"][PROBE_MIME]

