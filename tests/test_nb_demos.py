"""The two lecture-demo notebooks run top to bottom in a real kernel and show their results inline."""
from __future__ import annotations

import pytest

from nbtools import read_notebook

DEMOS = ["symbolic_loss/symbolic_loss.ipynb", "gradient_descent/gradient_descent.ipynb"]


def outputs(nb, output_type=None):
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if output_type is None or out.output_type == output_type:
                yield cell, out


def html_outputs(nb):
    return [out.data["text/html"] for _, out in outputs(nb) if "text/html" in out.get("data", {})]


def text_of(nb) -> str:
    parts = []
    for _, out in outputs(nb):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


@pytest.mark.parametrize("relative", DEMOS)
def test_demo_notebooks_are_plain_lecture_notebooks(relative):
    nb = read_notebook(relative)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "course_lib.solutions" not in code and "sys.path" not in code
    assert not any(c.get("metadata", {}).get("nbgrader", {}).get("grade") for c in nb.cells)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # stored without outputs
    assert sum(c.cell_type == "markdown" and "$" in c.source for c in nb.cells) >= 3  # the math in LaTeX


@pytest.mark.notebook
def test_symbolic_loss_notebook_runs(run_notebook):
    nb, seconds = run_notebook(DEMOS[0])
    assert not list(outputs(nb, "error"))
    text = text_of(nb)
    assert "sp.diff gradient == (P - Y) X^T / N and (P - Y) 1 / N identically: True" in text
    assert "derivative == diag(a) - a a^T after simplification: True" in text
    latex = [out.data["text/latex"] for _, out in outputs(nb) if "text/latex" in out.get("data", {})]
    assert any(r"\log" in s for s in latex) and any("w_{11}" in s for s in latex)


@pytest.mark.notebook
def test_gradient_descent_notebook_runs(run_notebook):
    nb, seconds = run_notebook(DEMOS[1])
    assert not list(outputs(nb, "error"))
    players = [h for h in html_outputs(nb) if "data:image/png;base64," in h and "<script" in h]
    assert len(players) >= 4  # the four descent animations (plus the fallback player without ffmpeg)
    images = [out for _, out in outputs(nb) if "image/png" in out.get("data", {})]
    assert images  # the learning-rate study's figure
    text = text_of(nb)
    assert "oscillates, then converges" in text and "oscillates, never converges" in text
    assert "GIF written" in text
