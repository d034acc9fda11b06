"""Judging one graded function on its own when it calls another graded function of the same
notebook (``with_known_good``): the L2 loss and gradient of the toy notebook call the student's
``softmax_loss`` and ``softmax_gradient``, the MLP's ``compute_grad_loss`` calls the student's
``forward``. While it runs, those names in the notebook's globals are the known-good versions.

The known-good versions themselves are answers: they are not shipped. The grader sends the source
of the ones a probe needs with that probe (from ``course_lib/judges/known_good.py``); the kernel's
probe builds it into a module of its own (``load``) and hands it to the helpers below."""
from __future__ import annotations

import inspect
import types

from course_lib.checks.common import replaced_globals

# The graded names ``with_known_good`` may stand in for.
STANDS_IN_FOR = ("softmax_loss", "softmax_gradient", "forward")


def load(source: str) -> types.ModuleType:
    """A fresh module built from the known-good ``source`` (never put in ``sys.modules``)."""
    module = types.ModuleType("known_good")
    exec(compile(source, "course_lib/judges/known_good.py", "exec"), module.__dict__)  # noqa: S102 - instructor code
    return module


def with_known_good(known_good, function, names, *args, **kwargs):
    """``function(*args, **kwargs)`` with the graded functions ``names`` (of ``STANDS_IN_FOR``)
    that it looks up in the notebook's globals replaced by ``known_good``'s, so that a mistake in
    those is not charged again to ``function``. The student's exceptions propagate."""
    unknown = [name for name in names if name not in STANDS_IN_FOR]
    if unknown:
        raise KeyError(f"no known-good {unknown}")
    own = getattr(function, "__globals__", {})
    with replaced_globals(function, **{name: stand_in(getattr(known_good, name), own.get(name)) for name in names}):
        return function(*args, **kwargs)


def stand_in(known, own):
    """``known`` in place of the student's ``own``, keeping what ``own`` adds: arguments that
    ``known`` does not take go to ``own`` alone, and where both return dicts, the keys ``own``
    adds (a cached ``Z`` that the student's backprop reuses, say) are kept beside ``known``'s."""
    parameters = inspect.signature(known).parameters

    def standing_in(*args, **kwargs):
        result = known(*args[:len(parameters)], **{k: v for k, v in kwargs.items() if k in parameters})
        if not isinstance(result, dict) or not callable(own):
            return result
        try:
            extra = own(*args, **kwargs)
        except Exception:  # the student's own version was judged in its own cell
            return result
        return {**extra, **result} if isinstance(extra, dict) else result

    return standing_in
