"""The probe: what a grading kernel runs after a graded cell. It calls the student's functions
and methods on inputs the grader sent as data and sends back only what they returned, as data.

It decides nothing: the grader's judge compares the returned numbers with its own reference
(the expected values never enter the kernel). Whatever the student's code does to this module,
to numpy or to the kernel, the only way to pass is to return the right numbers.

A request (``course_lib.probe_codec.pack``) holds ``steps``:

* ``{"kind": "call", "key", "target", "args", "kwargs"}``: ``namespace[target](*args, **kwargs)``;
* ``{"kind": "object", "key", "class", "trace"}``: a fresh ``namespace[class](...)`` driven by the
  trace's steps ``new`` / ``call`` (a method) / ``get`` / ``set`` (attributes), one result each;
* ``{"kind": "helper", "key", "helper", "target", "args", "kwargs"}``: one of ``_helpers`` (shipped
  with the course, e.g. the training loop run on spy layers) applied to ``namespace[target]``;
  ``value`` sends back the global ``namespace[target]`` itself (a model the student trained).

The helpers of ``KNOWN_GOOD_HELPERS`` put known-good versions of graded functions in place of the
student's (answers, so never shipped): their request carries the source of the definitions it
uses in its header field ``KNOWN_GOOD_FIELD``, built into a module of its own for that request only.

The reply is displayed as one output of MIME type ``MIME`` (base64 of an npz).
"""
from __future__ import annotations

import base64
import functools
import warnings

import numpy as np

from course_lib import probe_codec

MIME = "application/vnd.course-lib.probe+npz"
REQUEST_FIELD = "course_lib_probe"  # the execute request's content field holding a probe's request
KNOWN_GOOD_FIELD = "known_good"  # the request header's field holding the known-good code's source
# The helpers that need known-good code, with the known-good names each uses (with_known_good:
# the names given as its first argument).
KNOWN_GOOD_HELPERS = {"with_known_good": (), "choose_with_known_good": ("softmax_loss_and_gradient", "predict"),
                      "train_trace": ("PlainDense", "PlainSoftmax", "cce", "cce_gradient")}


def _helpers(known_good=None) -> dict:
    """The helpers by name, those of ``KNOWN_GOOD_HELPERS`` bound to the ``known_good`` module
    (absent without it)."""
    from course_lib.checks.diagnose import describe
    from course_lib.checks.known_good import with_known_good
    from course_lib.checks.mnist_softmax import choose_with_known_good
    from course_lib.checks.softmax_toy import batch_trace
    from course_lib.checks.spies import loop_trace, train_trace

    helpers = {"loop_trace": loop_trace, "describe": describe, "value": _value, "batch_trace": batch_trace}
    if known_good is not None:
        helpers.update({name: functools.partial(helper, known_good) for name, helper in
                        (("with_known_good", with_known_good), ("choose_with_known_good", choose_with_known_good),
                         ("train_trace", train_trace))})
    return helpers


def _known_good(source):
    """The known-good module built from the request's ``source`` (None without one)."""
    if not isinstance(source, str):
        return None
    from course_lib.checks.known_good import load

    return load(source)


def _value(target):
    """The notebook's global ``target`` itself (a result the student's cell computed), as data."""
    return target


def _error(error: BaseException) -> list[str]:
    return [type(error).__name__, str(error)[:1000]]


def _apply(function, args_tree, kwargs_tree, arrays, out_arrays) -> dict:
    """Call ``function`` with decoded arguments; the result, or the exception, as data, plus
    the array arguments the call changed in place."""
    args = probe_codec.decode(args_tree, arrays)
    kwargs = probe_codec.decode(kwargs_tree, arrays)
    before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the student's error is data here
        reply = {"ok": False, "error": _error(error)}
    else:
        reply = {"ok": True, "value": probe_codec.encode(value, out_arrays)}
    changed = {str(i): probe_codec.encode(a, out_arrays) for i, (a, b) in enumerate(zip(args, before))
               if b is not None and isinstance(a, np.ndarray) and (a.shape != b.shape or not np.array_equal(a, b, equal_nan=True))}
    if changed:
        reply["changed"] = changed
    return reply


def _object(namespace: dict, step: dict, arrays, out_arrays) -> list[dict]:
    replies: list[dict] = []
    instance = None
    for op in step["trace"]:
        if op["op"] == "new":
            cls = namespace.get(step["class"])
            if cls is None:
                replies.append({"ok": False, "error": ["NameError", f"name {step['class']!r} is not defined"]})
                break
            holder: list = []
            reply = _apply(lambda *a, **k: holder.append(cls(*a, **k)), op["args"], op["kwargs"], arrays, out_arrays)
            if reply["ok"]:
                instance = holder[0]
                reply["value"] = None
            replies.append(reply)
        elif op["op"] == "call":
            try:
                method = getattr(instance, op["name"])
            except (Exception, SystemExit) as error:  # noqa: BLE001
                replies.append({"ok": False, "error": _error(error)})
                continue
            replies.append(_apply(method, op["args"], op["kwargs"], arrays, out_arrays))
        elif op["op"] == "get":
            replies.append(_apply(lambda: getattr(instance, op["name"]), {"$list": []}, {"$dict": []}, arrays, out_arrays))
        elif op["op"] == "set":
            value = probe_codec.decode(op["value"], arrays)
            replies.append(_apply(lambda: setattr(instance, op["name"], value), {"$list": []}, {"$dict": []}, arrays, out_arrays))
        if not replies[-1]["ok"] and op["op"] == "new":
            break
    return replies


def answer(namespace: dict, request: bytes) -> bytes:
    """Run a request's steps against ``namespace`` (the notebook's globals); the packed reply."""
    header, arrays = probe_codec.unpack(request, max_bytes=1 << 30)
    out_arrays: dict[str, np.ndarray] = {}
    results: dict[str, object] = {}
    helpers = None
    for step in header["steps"]:
        if step["kind"] == "call":
            target = namespace.get(step["target"])
            if target is None:
                results[step["key"]] = {"ok": False, "error": ["NameError", f"name {step['target']!r} is not defined"]}
            else:
                results[step["key"]] = _apply(target, step["args"], step["kwargs"], arrays, out_arrays)
        elif step["kind"] == "object":
            results[step["key"]] = _object(namespace, step, arrays, out_arrays)
        elif step["kind"] == "helper":
            target = namespace.get(step["target"])
            if target is None:
                results[step["key"]] = {"ok": False, "error": ["NameError", f"name {step['target']!r} is not defined"]}
            else:
                if helpers is None:
                    helpers = _helpers(_known_good(header.get(KNOWN_GOOD_FIELD)))
                helper = helpers.get(step["helper"])
                if helper is None:
                    results[step["key"]] = {"ok": False, "error": ["KeyError", f"no helper {step['helper']!r} in this request"]}
                    continue
                results[step["key"]] = _apply(lambda *a, **k: helper(target, *a, **k), step["args"], step["kwargs"], arrays, out_arrays)
    return probe_codec.pack({"probe": header["probe"], "results": results}, out_arrays)


def run(namespace: dict, request_b64: str | None = None) -> None:
    """The kernel's entry point: answer the request and display the reply. Without
    ``request_b64`` the request is read from the execute request's content (``REQUEST_FIELD``):
    the grader sends it there, beside a one-line cell, because IPython's input machinery
    tokenises a cell's code several times (about 0.6 s a megabyte), and a probe's arrays can
    weigh megabytes."""
    from IPython.display import display

    if request_b64 is None:
        from IPython import get_ipython

        request_b64 = get_ipython().kernel.get_parent()["content"][REQUEST_FIELD]
    reply = answer(namespace, base64.b64decode(request_b64))
    display({MIME: base64.b64encode(reply).decode("ascii")}, raw=True)
