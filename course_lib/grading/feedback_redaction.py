"""Plain ``nbgrader generate_feedback`` without the hidden tests: a preprocessor (configured in
nbgrader_config.py for GenerateFeedback) that removes every hidden-test region (between
ClearHiddenTests' delimiters) from the autograded notebook and replaces a failing graded
cell's traceback (which quotes the hidden lines it went through) by the failure in words."""
from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import List

from course_lib.grading.messages import error_message


class RedactHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for feedback: hidden regions removed from every cell (a student's cell
    holding the markers is no reason to stop the feedback), and in graded cells each error
    output keeps only its message: ``traceback = [error_message(cell)]``."""

    # The HTML exporter passes this option to every preprocessor (as for nbgrader's GetGrades).
    display_data_priority = List(["text/html", "application/pdf", "text/latex", "image/svg+xml", "image/png",
                                  "image/jpeg", "text/plain"]).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        self._remove_hidden_test_region(cell)
        if cell.cell_type == "code" and utils.is_grade(cell):
            message = error_message(cell)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [message]
        return cell, resources
