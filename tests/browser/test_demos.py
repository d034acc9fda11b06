"""A lecturer in JupyterLab: the gradient descent demo's animation (matplotlib's jshtml player)
renders in the page, and its frames change when stepped and when played."""
from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from .labtools import NOTEBOOKS, cell, expect, open_notebook, run_cell

pytestmark = pytest.mark.browser

DEMO = "gradient_descent"
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,")


@pytest.fixture(scope="module")
def demo_server(lab_server_factory, tmp_path_factory):
    """JupyterLab serving a temporary copy of the demo's folder, with the project's kernel."""
    root = tmp_path_factory.mktemp("lecture") / "lecture"
    shutil.copytree(NOTEBOOKS / DEMO, root / DEMO, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = lab_server_factory(root, "lecture")
    yield server
    server.stop()


def first_animation_cell(nb) -> int:
    for index, c in enumerate(nb.cells):
        if c.cell_type == "code" and "to_jshtml()" in c.source:
            return index
    raise AssertionError(f"{DEMO}.ipynb has no cell showing an animation with to_jshtml()")


def test_gradient_descent_animation_plays(demo_server, page, steps):
    nb = nbformat.read(NOTEBOOKS / DEMO / f"{DEMO}.ipynb", as_version=4)
    target = first_animation_cell(nb)
    code_cells = [i for i, c in enumerate(nb.cells[: target + 1]) if c.cell_type == "code"]

    with steps("open the gradient descent demo"):
        panel = open_notebook(page, demo_server, f"{DEMO}/{DEMO}.ipynb")
        expect(panel.locator(".jp-Notebook .jp-Cell")).to_have_count(len(nb.cells))

    with steps("run the demo up to the first animation"):
        for index in code_cells:
            run_cell(page, panel, index, timeout_ms=120_000)
            expect(cell(panel, index).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"),
                   f"cell {index} wrote to stderr").to_have_count(0)
            expect(cell(panel, index).locator(".jp-OutputArea-error, [data-mime-type='application/vnd.jupyter.error']"),
                   f"cell {index} raised").to_have_count(0)

    output = cell(panel, target).locator(".jp-OutputArea")
    image = output.locator("img[id^='_anim_img']")
    slider = output.locator("input[id^='_anim_slider']")

    with steps("the animation renders"):
        image.scroll_into_view_if_needed()
        expect(image).to_be_visible()
        # the player's script ran: it put the first frame in the image and sized the slider
        expect(image).to_have_attribute("src", DATA_IMAGE)
        expect(slider).to_have_value("0")
        frames = int(slider.get_attribute("max")) + 1
        assert frames > 2, f"the animation has {frames} frames"
        box = image.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, f"the animation is not drawn (box {box})"
        first = image.get_attribute("src")

    with steps("step to the next frame"):
        output.locator("button[title='Next frame']").click()
        expect(slider).to_have_value("1")
        second = image.get_attribute("src")
        assert second != first, "the image did not change on 'Next frame'"

    with steps("play the animation"):
        output.locator("button[title='Play']").click()
        page.wait_for_function(
            "(slider) => parseInt(slider.value) >= 4", arg=slider.element_handle(), timeout=30_000)
        output.locator("button[title='Pause']").click()
        assert image.get_attribute("src") not in (first, second), "the image did not change while playing"
