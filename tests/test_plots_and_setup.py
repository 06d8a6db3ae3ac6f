"""Plot helpers draw what they promise; importing helpers keeps TensorFlow quiet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def test_show_digits_grid_and_captions():
    images = np.zeros((7, 28, 28), dtype=np.uint8)
    fig = plots.show_digits(images, labels=list(range(7)), ncols=3, title="t")
    axes = fig.axes
    assert len(axes) == 9  # 3 x 3 grid, two left empty
    assert [ax.get_title() for ax in axes[:7]] == [str(i) for i in range(7)]
    assert fig._suptitle.get_text() == "t"
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plots.show_digits(np.zeros((28, 28)))


def test_class_balance_bars_show_the_counts():
    y_train = np.repeat(np.arange(10), np.arange(1, 11))
    y_test = np.repeat(np.arange(10), 2)
    fig = plots.plot_class_balance(y_train, y_test)
    train_ax, test_ax = fig.axes
    assert [round(p.get_height()) for p in train_ax.patches] == list(range(1, 11))
    assert [round(p.get_height()) for p in test_ax.patches] == [2] * 10
    assert "55 images" in train_ax.get_title()
    plt.close(fig)


def test_importing_helpers_first_silences_tensorflow_logs():
    code = ("import helpers, keras, numpy as np; "
            "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]); "
            "print(m.predict(np.zeros((1, 3)), verbose=0).shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "(1, 2)" in done.stdout
    for noise in ["absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard", "cuda"]:
        assert noise not in done.stderr, f"TensorFlow log line leaked: {done.stderr[:500]}"
