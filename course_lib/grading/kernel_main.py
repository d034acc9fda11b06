"""The grading kernel's own start: an IPython kernel whose process has capped memory and no core
dumps, finding ``course_lib`` only in the student's tree (first on ``PYTHONPATH``).

Run inside the sandbox (see ``sandbox.py``) or, with --no-sandbox, directly:
``python kernel_main.py <memory bytes> -f <connection file>``. Standard library and ipykernel
only: it must not import the grader's modules.
"""
from __future__ import annotations

import os
import sys


def hide_editable_install() -> None:
    """Drop an editable install's import hooks, which would find the instructor's ``course_lib``
    (solutions included) ahead of the student tree on ``PYTHONPATH``. (In the sandbox the path
    they point at does not exist; without it this is what keeps the solutions out of reach.)"""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
    sys.path_importer_cache.clear()


def main() -> None:
    import resource

    memory = int(sys.argv.pop(1))
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # sys.path[0] is this script's folder: the student must not import the grader's modules by bare name.
    sys.path.pop(0)
    hide_editable_install()
    os.environ.setdefault("MPLBACKEND", "Agg")
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
