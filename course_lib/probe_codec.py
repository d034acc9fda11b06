"""Plain data between the grader and a grading kernel: values as a JSON tree plus numeric
arrays, packed into one ``.npz`` (no pickle anywhere).

A value is encoded as a JSON tree whose arrays live beside it under keys ``a0, a1, ...``:
ndarray -> ``{"$array": key}``; a NumPy scalar -> ``{"$scalar": key}``; a Python float/int/bool
keeps its type (``{"$float": key}`` ...); tuples, lists and dicts of these recurse; a
``np.random.Generator`` travels as its bit generator's state; anything else is
``{"$object": type name}``. Both sides use this module: the kernel to send what the student's
code returned, the grader to send inputs and to read results back with ``unpack``, which
bounds sizes and refuses object arrays.
"""
from __future__ import annotations

import io
import json
import re

import numpy as np

HEADER = "__header__"
MAX_DEPTH = 8
MAX_ITEMS = 10_000


class CodecError(ValueError):
    """Data that is not what the protocol allows (too big, wrong types, not an npz)."""


class Opaque:
    """A returned object that is not data (its type name only)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def encode(value, arrays: dict[str, np.ndarray], depth: int = 0):
    """The JSON tree of ``value``; its arrays are added to ``arrays``."""
    def put(array: np.ndarray) -> str:
        key = f"a{len(arrays)}"
        arrays[key] = array
        return key

    if depth > MAX_DEPTH:
        return {"$object": "too deeply nested"}
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        array = np.asarray(value.view(np.ndarray))
        if array.dtype.kind not in "biufc":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                return {"$object": f"ndarray of {array.dtype}"}
        return {"$array": put(np.array(array, copy=True))}
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufc":
            return {"$object": type(value).__name__}
        return {"$scalar": put(np.array(value))}
    if isinstance(value, bool):
        return {"$bool": bool.__bool__(value)}
    if isinstance(value, int):
        return {"$int": put(np.array(int.__int__(value)))} if abs(int.__int__(value)) < 2**62 else {"$object": "int"}
    if isinstance(value, float):
        return {"$float": put(np.array(float.__float__(value)))}
    if isinstance(value, str):
        return {"$str": str.__str__(value)[:2000]}
    if isinstance(value, np.random.Generator):
        return {"$rng": type(value.bit_generator).__name__, "state": _jsonable(value.bit_generator.state)}
    if isinstance(value, (list, tuple)):
        items = [encode(v, arrays, depth + 1) for v in list(value)[:MAX_ITEMS]]
        return {"$list" if isinstance(value, list) else "$tuple": items}
    if isinstance(value, dict):
        return {"$dict": [[str(k), encode(v, arrays, depth + 1)] for k, v in list(value.items())[:MAX_ITEMS]]}
    return {"$object": type(value).__name__}


def _jsonable(state):
    if isinstance(state, dict):
        return {k: _jsonable(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"$uint": state.tolist(), "dtype": str(state.dtype)}
    return state


def _state(tree):
    if isinstance(tree, dict):
        if "$uint" in tree:
            return np.array(tree["$uint"], dtype=tree["dtype"])
        return {k: _state(v) for k, v in tree.items()}
    return tree


def decode(tree, arrays: dict[str, np.ndarray]):
    """The value a JSON tree stands for (the inverse of ``encode``). ``encode`` gives every array
    it meets a key of its own, so a tree that names one array twice is refused: a reply of a few
    megabytes could otherwise stand for gigabytes of copies in the grader's process."""
    try:
        return _decode(tree, arrays, set())
    except RecursionError:
        raise CodecError("nested too deeply") from None


def _decode(tree, arrays: dict[str, np.ndarray], used: set[str]):
    if tree is None:
        return None
    if not isinstance(tree, dict) or len(tree) == 0:
        raise CodecError(f"not an encoded value: {str(tree)[:80]}")
    kind = next(iter(tree))
    if kind == "$array":
        return np.array(_array(arrays, tree[kind], used), copy=True)
    if kind == "$scalar":
        return _array(arrays, tree[kind], used, scalar=True)[()]
    if kind == "$float":
        return float(_array(arrays, tree[kind], used, scalar=True))
    if kind == "$int":
        return int(_array(arrays, tree[kind], used, scalar=True))
    if kind == "$bool":
        return bool(tree[kind])
    if kind == "$str":
        return str(tree[kind])
    if kind == "$rng":
        bit_generator = getattr(np.random, str(tree[kind]), None)
        if bit_generator is None or not isinstance(bit_generator, type) or not issubclass(bit_generator, np.random.BitGenerator):
            raise CodecError(f"unknown bit generator {tree[kind]!r}")
        generator = np.random.Generator(bit_generator())
        generator.bit_generator.state = _state(tree["state"])
        return generator
    if kind in ("$list", "$tuple", "$dict") and not isinstance(tree[kind], list):
        raise CodecError(f"{kind} of a {type(tree[kind]).__name__}")
    if kind == "$list":
        return [_decode(v, arrays, used) for v in tree[kind]]
    if kind == "$tuple":
        return tuple(_decode(v, arrays, used) for v in tree[kind])
    if kind == "$dict":
        if not all(isinstance(item, list) and len(item) == 2 for item in tree[kind]):
            raise CodecError("a $dict item is not a [key, value] pair")
        return {str(k): _decode(v, arrays, used) for k, v in tree[kind]}
    if kind == "$object":
        return Opaque(str(tree[kind]))
    raise CodecError(f"unknown kind {kind!r}")


def _array(arrays: dict[str, np.ndarray], key, used: set[str], scalar: bool = False) -> np.ndarray:
    if not isinstance(key, str) or key not in arrays:
        raise CodecError(f"missing array {str(key)[:40]!r}")
    if key in used:
        raise CodecError(f"array {key!r} is named twice")
    used.add(key)
    if scalar and arrays[key].size != 1:
        raise CodecError(f"array {key!r} stands for one number but holds {arrays[key].size}")
    return arrays[key]


def pack(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """One ``.npz`` holding the JSON ``header`` and the arrays."""
    buffer = io.BytesIO()
    text = np.frombuffer(json.dumps(header, allow_nan=True).encode("utf-8"), dtype=np.uint8)
    np.savez(buffer, **{HEADER: text}, **arrays)
    return buffer.getvalue()


def unpack(data: bytes, max_bytes: int, max_array_bytes: int | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and arrays of ``pack``'s bytes; refuses more than ``max_bytes`` in all (also
    uncompressed), object arrays and anything that is not a numeric array."""
    if len(data) > max_bytes:
        raise CodecError(f"{len(data)} bytes, more than the {max_bytes} allowed")
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise CodecError(f"not an npz archive ({error})") from None
    if total > max_bytes:
        raise CodecError(f"{total} bytes uncompressed, more than the {max_bytes} allowed")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as error:  # noqa: BLE001 - any malformed archive is refused in words
        raise CodecError(f"unreadable npz ({type(error).__name__}: {str(error)[:120]})") from None
    text = arrays.pop(HEADER, None)
    if text is None or text.dtype != np.uint8 or text.ndim != 1:
        raise CodecError("the npz has no header")
    for name, array in arrays.items():
        if not re.fullmatch(r"a[0-9]{1,9}", name):
            raise CodecError(f"an array is named {name[:40]!r}, not a0, a1, ...")
        if array.dtype.kind not in "biufc":
            raise CodecError(f"array {name} has dtype {array.dtype}, not numbers")
        if max_array_bytes is not None and array.nbytes > max_array_bytes:
            raise CodecError(f"array {name} has {array.nbytes} bytes, more than {max_array_bytes}")
    try:
        header = json.loads(text.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CodecError(f"the header is not JSON ({str(error)[:80]})") from None
    if not isinstance(header, dict):
        raise CodecError("the header is not an object")
    return header, arrays
