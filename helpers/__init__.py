"""Plumbing for the MNIST course notebooks: data, models, plots, evaluation, preprocessing and checks.

Import ``helpers`` (any part of it) before ``keras`` or ``tensorflow``: from then on, the first
import of TensorFlow runs with its C++ start-up log lines (absl, oneDNN, CUDA and CPU-feature
notes) muted, so they stay out of notebook outputs and test logs. TensorFlow itself is not
loaded until something imports it, so ``helpers.data`` and ``helpers.files`` stay light.

Keras' backend is the one ``KERAS_BACKEND`` names, when it is set before Keras is first imported:
the user's choice always wins. Unset, ``helpers`` sets it to the backend that is installed:
TensorFlow where it is (it publishes wheels for Python 3.10 to 3.13), else JAX (the course's
dependencies install JAX instead on newer Pythons). Under JAX no part of ``helpers`` imports
TensorFlow (tests/test_backends.py). Keras itself still imports an installed TensorFlow under any
backend, to save a model or set the random seed; that import is muted the same way.

Importing ``helpers`` also sizes TensorFlow's and JAX's thread pools to the CPUs this process may
really use (a hub's CPU limit, not the server's core count; ``MNIST_CPUS=N`` overrides it): see
``helpers.cpu``. Without a CPU limit nothing changes.
"""

from __future__ import annotations

from helpers import cpu

import contextlib
import importlib.abc
import importlib.util
import os
import sys

BACKENDS = ("tensorflow", "jax")  # the course's backends, in the order helpers prefers them


def installed_backend() -> str:
    """The first of ``BACKENDS`` that is installed (found without importing it); "tensorflow" if none is.

    With neither installed, Keras' own error on import then names what is missing.
    """
    for name in BACKENDS:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):  # a broken or blocked install counts as none
            continue
    return BACKENDS[0]


# Set before Keras or TensorFlow is first imported; a value the user set wins.
if not os.environ.get("KERAS_BACKEND"):
    os.environ["KERAS_BACKEND"] = installed_backend()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide C++ INFO/WARNING/ERROR lines
cpu.configure_threads()  # thread pools sized to the CPU limit (no limit: nothing set)

__all__ = [
    "canvas",
    "checks",
    "cpu",
    "data",
    "evaluation",
    "files",
    "models",
    "nodigit",
    "plots",
    "predict",
    "preprocess",
    "results",
    "training",
]


@contextlib.contextmanager
def _stderr_muted():
    """Point file descriptor 2 at /dev/null for the block (C++ code writes there, not to sys.stderr)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (some IDEs): nothing to mute
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Find ``tensorflow`` as usual, but run its import with fd 2 muted.

    TensorFlow prints a few lines from C++ before its logging is configured;
    ``TF_CPP_MIN_LOG_LEVEL`` does not reach them. Python exceptions still propagate
    once stderr is restored, so a broken install is reported as usual.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # one import only; find the real spec without us
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            exec_module = spec.loader.exec_module

            def quiet_exec_module(module):
                with _stderr_muted():
                    exec_module(module)

            spec.loader.exec_module = quiet_exec_module
        return spec


if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlow())
