"""What a sandboxed kernel has imported before the first cell, and what it imports lazily:
numpy is loaded ahead (``sandbox.PRELOAD``); ``import matplotlib.pyplot`` binds the module but
runs it only at its first use (``sandbox.DEFER``), so a graded run, which skips the demo cells
that plot, never pays for it, and a cell that does plot works as ever."""
from __future__ import annotations

import json

from jupyter_client.utils import run_sync

from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.course import REPO_ROOT
from course_lib.grading.execute import Sandbox, start_sandboxed_kernel
from course_lib.grading.sandbox import SandboxLimits, SandboxMounts

REPORT = "import sys, json; print(json.dumps({name: name in sys.modules for name in %r}))"


def run(client, code: str) -> str:
    """The stdout of ``code`` run in the kernel (an error's text included)."""
    msg_id = client.execute(code)
    out = []
    while True:
        msg = run_sync(client.get_iopub_msg)(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)


def test_numpy_is_loaded_ahead_and_pyplot_runs_only_when_used(tmp_path):
    from sandbox_helpers import require_bwrap

    require_bwrap()
    tree, kernels = prepare_sandbox(tmp_path / "out", SandboxLimits().memory)
    sandbox = Sandbox(SandboxMounts(str(tree), str(REPO_ROOT / "data")), SandboxLimits())
    kernel = start_sandboxed_kernel(kernels, sandbox, [])
    client = kernel.km.client()
    try:
        client.start_channels()
        run_sync(client.wait_for_ready)(timeout=120)
        names = ["numpy", "matplotlib.pyplot", "matplotlib.figure"]
        assert json.loads(run(client, REPORT % names)) == {"numpy": True, "matplotlib.pyplot": False,
                                                          "matplotlib.figure": False}
        run(client, "import matplotlib.pyplot as plt")
        # bound, but pyplot's own body (which imports matplotlib.figure) has not run
        assert json.loads(run(client, REPORT % names)) == {"numpy": True, "matplotlib.pyplot": True,
                                                          "matplotlib.figure": False}
        drawn = run(client, "fig, ax = plt.subplots(); ax.plot([0, 1]); print(plt.get_backend(), len(ax.lines))")
        assert drawn.split() == ["agg", "1"] or drawn.split() == ["Agg", "1"], drawn
        assert json.loads(run(client, REPORT % names))["matplotlib.figure"]
        assert run(client, "from matplotlib.pyplot import subplots; print(subplots.__name__)").strip() == "subplots"
    finally:
        client.stop_channels()
        kernel.close()


def test_the_font_list_is_built_once_and_shared_by_every_run(tmp_path, monkeypatch):
    """matplotlib's font list, which a kernel that plots needs, is built once per Python,
    matplotlib and set of system fonts in the user's cache folder, and each run's kernelspec
    folder gets a copy (building it took 1.5 s of every run)."""
    import course_lib.grading.sandbox as sandbox_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    builds = []
    real = sandbox_module.build_font_cache
    monkeypatch.setattr(sandbox_module, "build_font_cache", lambda folder: builds.append(folder) or real(folder))
    first = sandbox_module.write_kernelspec(tmp_path / "run1") / sandbox_module.FONT_CACHE
    second = sandbox_module.write_kernelspec(tmp_path / "run2") / sandbox_module.FONT_CACHE
    assert len(builds) == 1
    shared = sandbox_module.font_cache_files(tmp_path / "cache" / "course_lib" / f"fontlist-{sandbox_module.font_cache_key()}")
    assert shared and [f.name for f in sandbox_module.font_cache_files(first)] == [f.name for f in shared]
    assert [f.read_bytes() for f in sandbox_module.font_cache_files(second)] == [f.read_bytes() for f in shared]
    assert not [p for p in (tmp_path / "cache" / "course_lib").iterdir() if p.name.startswith("building-")]
