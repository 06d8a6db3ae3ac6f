"""Plumbing for the MNIST course notebooks: data, plots and checks.

Importing this package first keeps TensorFlow's C++ start-up log lines
(absl, oneDNN, CUDA and CPU-feature notes) out of notebook outputs and test
logs. Import ``helpers`` before ``keras`` or ``tensorflow``.
"""

from __future__ import annotations

import contextlib
import os
import sys

# Set before TensorFlow is first imported; a value the user set wins.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide C++ INFO/WARNING/ERROR lines


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 muted.

    TensorFlow prints a few lines from C++ before its logging is configured
    (``absl::InitializeLog``, oneDNN and CUDA notes); ``TF_CPP_MIN_LOG_LEVEL``
    does not reach them. Python exceptions still propagate after stderr is
    restored, so a broken install is reported as usual.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (some IDEs)
        import tensorflow

        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with contextlib.suppress(ImportError):  # the data tools still work without TensorFlow
    _import_tensorflow_quietly()

__all__ = ["data"]
