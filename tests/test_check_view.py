"""What a student sees when a visible check fails in a real kernel: the check's message, with
no traceback into course_lib's own code."""
from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def test_a_failing_check_shows_its_message_without_a_traceback(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_lib.checks.layers import check_cce"),
        nbformat.v4.new_code_cell("def cce(y, yhat):\n    return -np.sum(y * np.log(np.clip(yhat, 1e-12, 1.0)))\n\ncheck_cce(cce)"),
        nbformat.v4.new_code_cell("1 / 0"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    error = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    assert error.ename == "CheckFailure" and "cce_sum" not in error.evalue
    assert "divide by the number of samples" in error.evalue
    assert error.traceback == [f"CheckFailure: {error.evalue}"]
    assert not any("course_lib" in line or "File " in line for line in error.traceback)
    # Other errors keep IPython's ordinary traceback.
    other = next(o for o in nb.cells[2].outputs if o.output_type == "error")
    assert other.ename == "ZeroDivisionError" and len(other.traceback) > 1
