"""Stand-ins for the student's functions and classes, used by the judge in the grader's own
process: a check written as if it called the student's code (``student.cce(y, yhat)``,
``student.Softmax().backward(G, 0.5)``) runs against what the student's code returned in the
kernel, replayed from data.

A ``Session`` holds the replies the kernel's probe sent back. A call whose reply is not there
yet is *needed*: the session lists it for the next probe request and, to let the check run on
and reveal the calls after it, answers it speculatively from the instructor's reference (or,
without one, stops the check with ``Pending``). The judge repeats until a whole pass over the
checks used only the student's replies; only that pass counts.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import json
from functools import cache
from pathlib import Path

import numpy as np

from course_lib import probe_codec
from course_lib.judges import known_good
from course_lib.probe import KNOWN_GOOD_FIELD, KNOWN_GOOD_HELPERS, _helpers


class Pending(BaseException):
    """A check needs a reply the kernel has not sent yet (a BaseException, so that the checks'
    ``except Exception`` does not swallow it)."""


def _encoded(args: tuple, kwargs: dict) -> tuple[object, object, dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    return probe_codec.encode(tuple(args), arrays), probe_codec.encode(dict(kwargs), arrays), arrays


def _digest(*parts, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for key in sorted(arrays, key=lambda k: int(k[1:])):
        array = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:32]


def student_error(name: str, message: str) -> Exception:
    """An exception standing for the one the student's code raised: the built-in class when the
    name is one (so ``except ValueError`` still works), otherwise a class of that name."""
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(name if name.isidentifier() else "Error", (Exception,), {})
    try:
        return cls(message)
    except Exception:  # noqa: BLE001 - an exception class with another signature
        return Exception(f"{name}: {message}")


@cache
def _known_good_definitions() -> tuple[str, dict[str, tuple[str, frozenset[str]]]]:
    """The known-good module's imports, and each top-level definition's text with the names it uses."""
    text = Path(known_good.__file__).read_text()
    lines = text.splitlines(keepends=True)
    imports, definitions = [], {}
    for node in ast.parse(text).body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        segment = "".join(lines[start:node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            definitions[node.name] = (segment, frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name)))
    return "".join(imports), definitions


def known_good_source(names) -> str:
    """What a probe that needs the known-good ``names`` sends the kernel: their definitions and the
    helpers they use, nothing else of ``course_lib/judges/known_good.py`` (so a kernel that keeps
    what it is sent learns no other part's or other notebook's answer)."""
    imports, definitions = _known_good_definitions()
    unknown = sorted(set(names) - set(definitions))
    if unknown:
        raise KeyError(f"no known-good {unknown}")
    wanted, queue = set(), list(names)
    while queue:
        name = queue.pop()
        if name not in wanted:
            wanted.add(name)
            queue += [n for n in definitions[name][1] if n in definitions]
    return imports + "".join(f"\n\n{definitions[name][0]}" for name in definitions if name in wanted)


class Session:
    """The replies received so far, the calls still needed, the instructor's references."""

    def __init__(self, reference: dict | None = None):
        self.reference = dict(reference or {})
        self.replies: dict[str, object] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self.needed: dict[str, dict] = {}
        self.request_arrays: dict[str, np.ndarray] = {}

    # --- what goes to the kernel -------------------------------------------------------------
    def need(self, key: str, step: dict, args: tuple = (), kwargs: dict | None = None) -> None:
        if key in self.needed:
            return
        step = dict(step, key=key)
        if step["kind"] != "object":
            step["args"] = probe_codec.encode(tuple(args), self.request_arrays)
            step["kwargs"] = probe_codec.encode(dict(kwargs or {}), self.request_arrays)
        self.needed[key] = step

    def request(self, nonce: str) -> bytes:
        """The probe request for every needed call (objects: only their longest traces)."""
        steps = list(self.needed.values())
        traces = [s for s in steps if s["kind"] == "object"]
        longest = [s for s in traces if not any(o is not s and len(o["trace"]) > len(s["trace"])
                                                and o["prefix"][: len(s["prefix"])] == s["prefix"] for o in traces)]
        chosen = [s for s in steps if s["kind"] != "object"] + longest
        clean = [{k: v for k, v in s.items() if k != "prefix"} for s in chosen]
        header = {"probe": nonce, "steps": clean}
        names = set()
        for s in clean:
            if s["kind"] == "helper" and s["helper"] in KNOWN_GOOD_HELPERS:
                used = KNOWN_GOOD_HELPERS[s["helper"]]
                names.update(used if used else probe_codec.decode(s["args"], self.request_arrays)[0])
        if names:  # only the definitions these probes use: no other part's answer
            header[KNOWN_GOOD_FIELD] = known_good_source(sorted(names))
        return probe_codec.pack(header, self.request_arrays)

    def absorb(self, header: dict, arrays: dict[str, np.ndarray], sent: list[dict]) -> None:
        """Keep the replies of a probe; object traces become one reply per prefix."""
        base = len(self.arrays)
        renamed = {f"a{base + int(k[1:])}": v for k, v in arrays.items() if k[:1] == "a" and k[1:].isdigit()}
        self.arrays.update(renamed)

        def shift(tree):
            if isinstance(tree, dict):
                return {k: (f"a{base + int(v[1:])}" if k in ("$array", "$scalar", "$float", "$int") and isinstance(v, str)
                            and v[1:].isdigit() else shift(v)) for k, v in tree.items()}
            if isinstance(tree, list):
                return [shift(v) for v in tree]
            return tree

        results = header.get("results", {})
        for step in sent:
            reply = results.get(step["key"])
            if reply is None:
                continue
            if step["kind"] == "object":
                if not isinstance(reply, list) or not reply:
                    continue
                last = reply[-1]
                for i in range(len(step["prefix"])):
                    # After a failed constructor the kernel stops: the later steps share its error.
                    one = reply[i] if i < len(reply) else {"ok": False, "error": (last.get("error") if isinstance(last, dict) else None)
                                                           or ["RuntimeError", "the object could not be used"]}
                    self.replies[trace_key(step["class"], step["prefix"][: i + 1])] = shift(one)
            else:
                self.replies[step["key"]] = shift(reply)
        self.needed.clear()
        self.request_arrays = {}

    # --- replaying -------------------------------------------------------------------------------
    def replay(self, reply: dict, args: tuple = ()):
        """The value of a recorded reply (raising the student's exception); array arguments the
        student's code changed in place are changed here too."""
        if not isinstance(reply, dict):
            raise probe_codec.CodecError("malformed reply")
        for index, tree in (reply.get("changed") or {}).items():
            i = int(index)
            if i < len(args) and isinstance(args[i], np.ndarray):
                new = probe_codec.decode(tree, self.arrays)
                if isinstance(new, np.ndarray) and new.shape == args[i].shape:
                    np.copyto(args[i], new, casting="unsafe")
                else:
                    args[i][...] = np.nan
        if not reply.get("ok"):
            name, message = (list(reply.get("error") or ["Exception", ""]) + ["", ""])[:2]
            raise student_error(str(name), str(message))
        return probe_codec.decode(reply.get("value"), self.arrays)


def trace_key(class_name: str, prefix: list) -> str:
    return "object:" + hashlib.sha256(json.dumps([class_name, prefix], sort_keys=True).encode()).hexdigest()[:32]


class StandInFunction:
    """The student's function ``name``, as replayed (or needed) in a session."""

    def __init__(self, session: Session, name: str, helper: str | None = None):
        self._session, self._name, self._helper = session, name, helper

    def __call__(self, *args, **kwargs):
        session = self._session
        args_tree, kwargs_tree, arrays = _encoded(args, kwargs)
        key = _digest(self._helper or "call", self._name, args_tree, kwargs_tree, arrays=arrays)
        if key in session.replies:
            return session.replay(session.replies[key], args)
        step = {"kind": "helper", "helper": self._helper, "target": self._name} if self._helper else {"kind": "call", "target": self._name}
        session.need(key, step, args, kwargs)
        reference = session.reference.get(self._name)
        if reference is None:
            raise Pending(self._name)
        copies = probe_codec.decode(args_tree, arrays), probe_codec.decode(kwargs_tree, arrays)
        if self._helper:
            return _helpers(known_good)[self._helper](reference, *copies[0], **copies[1])
        return reference(*copies[0], **copies[1])

    def __repr__(self) -> str:
        return f"<the student's {self._name}>"


class StandInClass:
    """The student's class ``name``: calling it makes a ``StandInObject``."""

    def __init__(self, session: Session, name: str):
        self._session, self._name = session, name

    def __call__(self, *args, **kwargs):
        return StandInObject(self._session, self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<the student's class {self._name}>"


class StandInObject:
    """An instance of the student's class, driven through a trace of operations (``new``,
    method ``call``, attribute ``get`` / ``set``) replayed from the kernel's replies. Which
    attributes are methods is read from the reference class."""

    def __init__(self, session: Session, class_name: str, args: tuple, kwargs: dict):
        object.__setattr__(self, "_s", {"session": session, "class": class_name, "prefix": [], "trace": [], "ref": None,
                                        "ref_class": session.reference.get(class_name)})
        ref_class = self._s["ref_class"]
        self._op({"op": "new"}, args, kwargs, lambda a, k: self._s.__setitem__("ref", ref_class(*a, **k)))

    def _op(self, op: dict, args: tuple, kwargs: dict, speculate):
        state = self._s
        session: Session = state["session"]
        args_tree, kwargs_tree, arrays = _encoded(args, kwargs)
        digest = _digest(op, args_tree, kwargs_tree, arrays=arrays)
        full = dict(op)
        if op["op"] in ("new", "call"):
            full["args"] = probe_codec.encode(tuple(args), session.request_arrays)
            full["kwargs"] = probe_codec.encode(dict(kwargs), session.request_arrays)
        elif op["op"] == "set":
            full["value"] = probe_codec.encode(args[0], session.request_arrays)
        state["prefix"] = state["prefix"] + [digest]
        state["trace"] = state["trace"] + [full]
        key = trace_key(state["class"], state["prefix"])
        recorded = key in session.replies
        speculated, failed = None, None
        if state["ref_class"] is not None and not (recorded and op["op"] == "get"):
            # The reference instance follows every operation, so that it can answer the next one.
            copies = probe_codec.decode(args_tree, arrays), probe_codec.decode(kwargs_tree, arrays)
            try:
                speculated = speculate(*copies)
            except Exception as error:  # noqa: BLE001 - raised only if the answer is needed
                failed = error
        if recorded:
            return session.replay(session.replies[key], args)
        session.need(key, {"kind": "object", "class": state["class"], "trace": state["trace"], "prefix": state["prefix"]})
        if state["ref_class"] is None:
            raise Pending(state["class"])
        if failed is not None:
            raise failed
        return speculated

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        state = self._s
        ref_class = state["ref_class"]
        if ref_class is not None and callable(getattr(ref_class, name, None)):
            def method(*args, **kwargs):
                return self._op({"op": "call", "name": name}, args, kwargs,
                                lambda a, k: getattr(state["ref"], name)(*a, **k))
            method.__name__ = name
            return method
        return self._op({"op": "get", "name": name}, (), {}, lambda a, k: getattr(state["ref"], name))

    def __setattr__(self, name: str, value) -> None:
        state = self._s
        self._op({"op": "set", "name": name}, (value,), {}, lambda a, k: setattr(state["ref"], name, a[0]))

    def __repr__(self) -> str:
        return f"<the student's {self._s['class']} object>"


class StudentView:
    """``student.<name>``: a stand-in for the student's function or class ``name`` (a class when
    the reference is a class or the name is capitalised)."""

    def __init__(self, session: Session):
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        reference = self._session.reference.get(name)
        if isinstance(reference, type) or (reference is None and name[:1].isupper()):
            return StandInClass(self._session, name)
        return StandInFunction(self._session, name)

    def helper(self, helper: str, target: str):
        """A probe helper (``course_lib.probe``'s ``HELPERS``) applied to the student's ``target``."""
        return StandInFunction(self._session, target, helper=helper)
