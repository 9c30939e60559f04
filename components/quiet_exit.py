"""Silences one known-benign TensorFlow message at interpreter exit, and nothing else.

TensorFlow 2.16's ``AtomicFunction.__del__`` decrements a module-level refcount table.
When a process exits while it still holds loaded models (TFMA caches the model in every
Beam worker process of the Evaluator for the process's life), Python's finalization first
sets the modules' globals to None and only then frees those objects, so each ``__del__``
fails with "TypeError: 'NoneType' object is not subscriptable" and Python prints "Exception
ignored in: <function AtomicFunction.__del__ ...>" with a traceback: 7-12 of them per run,
from processes this project does not start or stop (Beam's workers), after work that
succeeded. The memory is freed by the exit regardless.

The fix cannot be an ``os._exit`` or dropping references, since those processes run Beam's
code, not ours; but they import ``components`` (the Evaluator's metric lives here), so an
``sys.unraisablehook`` installed on import sees the message. It drops only an exception
raised by TensorFlow's ``AtomicFunction.__del__`` while the interpreter is finalizing; every
other unraisable exception, and this one at any other time, goes to the previous hook.
"""

from __future__ import annotations

import sys

_TENSORFLOW = "tensorflow."
_DESTRUCTOR = "AtomicFunction.__del__"


def install() -> None:
    """Wraps the current ``sys.unraisablehook`` (once per process)."""
    previous = sys.unraisablehook
    if getattr(previous, "quiets_atomic_function_exit", False):
        return

    # Everything the hook uses is bound now: at exit, module globals may already be None.
    def hook(
        unraisable,
        previous=previous,
        is_finalizing=sys.is_finalizing,
        destructor=_DESTRUCTOR,
        package=_TENSORFLOW,
    ) -> None:
        where = unraisable.object
        if (
            is_finalizing()
            and getattr(where, "__qualname__", "") == destructor
            and str(getattr(where, "__module__", "")).startswith(package)
        ):
            return
        previous(unraisable)

    hook.quiets_atomic_function_exit = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook
