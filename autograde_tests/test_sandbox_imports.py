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


def test_a_sandboxed_kernel_maps_the_decoded_mnist_read_only(tmp_path):
    """The grader decodes MNIST once per machine (``mnist_cache.py``) and shows the cache to
    its kernels read-only: ``load_mnist`` there maps it (no 0.8 s decode per kernel), gives the
    same values, and a student who writes to the arrays changes only their private copy."""
    import hashlib

    import numpy as np

    from sandbox_helpers import require_bwrap

    from course_lib.data import find_data_file, load_mnist
    from course_lib.mnist_cache import build_cache

    require_bwrap()
    cache = build_cache(find_data_file(), tmp_path / "mnist-cache")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in cache.iterdir()}
    tree, kernels = prepare_sandbox(tmp_path / "out", SandboxLimits().memory)
    sandbox = Sandbox(SandboxMounts(str(tree), str(REPO_ROOT / "data"), str(cache)), SandboxLimits())
    kernel = start_sandboxed_kernel(kernels, sandbox, [])
    client = kernel.km.client()
    try:
        client.start_channels()
        run_sync(client.wait_for_ready)(timeout=120)
        got = json.loads(run(client, (
            "import json, mmap, os, numpy as np\nfrom course_lib import load_mnist\n"
            "data = load_mnist(dtype=np.float32)\nbase = data.X_train\n"
            "while base is not None and not isinstance(base, mmap.mmap): base = getattr(base, 'base', None)\n"
            "X = data.X_test; X -= 1.0\n"
            "try:\n    open(os.path.join(os.environ['COURSE_LIB_MNIST_CACHE'], 'x'), 'w'); wrote = True\n"
            "except OSError:\n    wrote = False\n"
            "print(json.dumps({'mapped': base is not None, 'sum': float(data.X_train[:, :100].sum(dtype=np.float64)),"
            " 'labels': data.y_test[:50].tolist(), 'wrote': wrote}))")))
        expected = load_mnist(dtype=np.float32)
        assert got["mapped"] and not got["wrote"]
        assert got["sum"] == float(expected.X_train[:, :100].sum(dtype=np.float64))
        assert got["labels"] == expected.y_test[:50].tolist()
    finally:
        client.stop_channels()
        kernel.close()
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in cache.iterdir()} == before
