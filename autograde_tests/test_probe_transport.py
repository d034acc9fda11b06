"""A probe's request (its arguments, megabytes of arrays for mnist_softmax's model choice)
travels in the execute request's content beside a one-line cell, never in the cell's code:
IPython tokenises a cell's code several times, which cost 2 s a submission for a 3.3 MB cell.
(The real kernel's side of it runs in every graded example: test_grading_autograde.py.)"""
from __future__ import annotations

import base64

import numpy as np

from course_lib import probe_codec
from course_lib.grading.pipeline import _probe_runner
from course_lib.grading.records import CellLimits


def test_the_probe_cell_is_one_short_line_whatever_its_arguments():
    sent = []

    def prober(code, request=None):
        sent.append((code, request))
        raise RuntimeError("stop here")

    big = np.random.default_rng(0).standard_normal((785, 500)).astype(np.float32)
    request = probe_codec.pack({"probe": "n", "steps": []}, {"a0": big})
    try:
        _probe_runner(prober, CellLimits())(request, "n")
    except RuntimeError:
        pass
    (code, sent_request), = sent
    assert len(code) < 100 and "\n" not in code
    assert base64.b64decode(sent_request) == request
