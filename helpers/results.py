"""The benchmark's results file and the names of its models (``make bench``).

Light on purpose: no Keras, no TensorFlow. ``helpers.training`` reads the results for the notebooks,
``benchmarks/bench.py`` writes them and ``benchmarks/report.py`` renders them, all from these names.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "benchmark_results.json"  # shipped with the package: notebooks read it

# The benchmark's model keys and their names in every table, the notebooks' and the reports' alike.
NAMES = {
    "baseline": "baseline",
    "seed_improved": "seed 'improved'",
    "batch512": "+ batch 512",
    "batch512_lr3e-3": "+ peak rate 0.003",
    "schedule": "+ schedule",
    "improved": "+ shifts (improved)",
    "cnn": "CNN",
    "cnn_pooling": "CNN, max pooling",
    "cnn_one_conv": "CNN, one convolution",
    "cnn_keras_io": "keras.io convnet",
}

# The notebook that trains each model, named beside it in the README's and results.md's accuracy table.
NOTEBOOKS = dict.fromkeys(NAMES, "04") | {"baseline": "02"} | {k: "07" for k in NAMES if k.startswith("cnn")}


def label(key: str) -> str:
    """A model's name in the tables (its key if it has none)."""
    return NAMES.get(key, key)
