"""Plot helpers draw what they promise; importing helpers keeps TensorFlow quiet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from helpers import evaluation, plots

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")
    matplotlib.rcdefaults()  # after use_course_style


def test_importing_helpers_first_silences_tensorflow_logs():
    code = "import helpers, keras, numpy as np; m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]); "
    code += "print(m.predict(np.zeros((1, 3)), verbose=0).shape)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180)
    assert done.returncode == 0 and "(1, 2)" in done.stdout, done.stderr
    for noise in ["absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard", "cuda"]:
        assert noise not in done.stderr, f"TensorFlow log line leaked: {done.stderr[:500]}"


def test_show_digits_grid_captions_and_grey_scale_in_the_course_style():
    plots.use_course_style()
    fig = plots.show_digits(np.zeros((7, 28, 28), dtype=np.uint8), labels=list(range(7)), ncols=3, title="t")
    assert fig.dpi >= 100 and fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"  # sharp
    assert len(fig.axes) == 9 and [ax.get_title() for ax in fig.axes[:7]] == [str(i) for i in range(7)]  # 3 x 3
    images = np.stack([np.full((4, 4), 0.5), np.full((4, 4), 1.25)])
    shared, each = plots.show_digits(images), plots.show_digits(images, shared_scale=False)
    assert [ax.images[0].get_clim()[1] for ax in shared.axes] == [1.25, 1.25]
    assert [ax.images[0].get_clim()[1] for ax in each.axes] == [0.5, 1.25]
    assert shared.axes[0].images[0].get_cmap().name == plots.DIGIT_CMAP
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plots.show_digits(np.zeros((28, 28)))


def test_show_image_row_shares_one_scale_and_frames_on_request():
    images, titles = [np.full((5, 5), 0.2), np.full((8, 6), 0.8)], ["a", "b"]
    plain, framed = (plots.show_image_row(images, titles, suptitle="s", frame=f).axes for f in (False, True))
    assert [ax.get_title() for ax in plain] == titles and [ax.images[0].get_clim() for ax in plain] == [(0, 0.8)] * 2
    assert not any(ax.axison for ax in plain)  # a frame keeps the axes' edges, without ticks
    assert all(ax.axison and not ax.get_xticks().size and not ax.get_yticks().size for ax in framed)
    with pytest.raises(ValueError):  # a title per image, no more, no fewer
        plots.show_image_row(images, ["a"], suptitle="s")


def test_class_balance_and_prediction_bars_show_the_numbers():
    train_ax, test_ax = plots.plot_class_balance(
        np.repeat(np.arange(10), np.arange(1, 11)), np.repeat(range(10), 2)
    ).axes
    assert [round(p.get_height()) for p in train_ax.patches + test_ax.patches] == list(range(1, 11)) + [2] * 10
    assert "55 " in train_ax.get_title() and "20 " in test_ax.get_title()
    probs = np.array([0.01, 0.01, 0.0, 0.9, 0.0, 0.05, 0.0, 0.0, 0.03, 0.0])
    image_ax, bar_ax = plots.plot_prediction(np.eye(28), probs).axes
    assert [t.get_text() for t in bar_ax.get_yticklabels()] == ["8", "5", "3"]  # the 3 most probable, top first
    assert [round(p.get_width(), 2) for p in bar_ax.patches] == [0.03, 0.05, 0.9]
    assert image_ax.images[0].get_array().shape == (28, 28) and image_ax.images[0].get_clim() == (0, 1)


def test_model_comparison_shows_mean_std_and_every_seed():
    runs = [{"model": "a", "seed": s, "val_accuracy": v} for s, v in enumerate([0.97, 0.98, 0.99])]
    ax = plots.plot_model_comparison([*runs, {"model": "b", "seed": 0, "val_accuracy": 0.95}], title="q?").axes[0]
    assert ax.get_title() == "q?" and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    seeds = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(np.concatenate(seeds)[:, 1]) == pytest.approx([0.95, 0.97, 0.98, 0.99])  # every seed a dot
    assert [line.get_ydata()[0] for line in ax.lines if line.get_marker() == "D"] == pytest.approx([0.98, 0.95])
    assert ax.get_ylim()[0] < 0.95 and ax.get_ylim()[1] > 0.99  # every seed is inside the axes


def test_learning_curves_mark_the_best_validation_epoch_and_zoom_on_validation_loss():
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [0.9, 0.4, 0.6], "accuracy": [0.5, 0.8, 0.9]}
    loss_ax, zoom_ax, acc_ax = plots.plot_learning_curves(history | {"val_accuracy": [0.6, 0.85, 0.8]}).axes
    assert any("epoch 2" in t.get_text() for t in loss_ax.get_legend().get_texts())
    assert [list(line.get_ydata()) for line in loss_ax.lines[:2]] == [[1.0, 0.5, 0.3], [0.9, 0.4, 0.6]]
    # the middle panel holds the validation loss alone, on its own scale
    assert [list(line.get_ydata()) for line in zoom_ax.lines if line.get_label() == "validation"] == [[0.9, 0.4, 0.6]]
    assert zoom_ax.get_ylim()[0] > 0.3
    assert [list(line.get_ydata()) for line in acc_ax.lines[:2]] == [[0.5, 0.8, 0.9], [0.6, 0.85, 0.8]]
    assert len(plots.plot_learning_curves({"loss": [1.0, 0.5], "accuracy": [0.5, 0.6]}).axes) == 2  # no validation
    for epochs in (3, 60):  # ticks: whole epochs, and few
        fig = plots.plot_learning_curves({k: list(np.linspace(1.0, 0.1, epochs)) for k in [*history, "val_accuracy"]})
        fig.canvas.draw()
        for ax in fig.axes:
            ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
            assert all(float(t).is_integer() for t in ticks) and 2 <= len(ticks) <= 7, (epochs, ticks)


def test_reliability_diagram_shows_each_model_the_diagonal_and_the_counts():
    confidence, right = np.array([0.35, 0.55, 0.85, 0.95, 0.99, 0.99]), np.array([False, True, False, True, True, True])
    tables = {name: evaluation.reliability_table(confidence, ok) for name, ok in [("a", right), ("b", ~right)]}
    fig = plots.plot_reliability(tables, title="q?")
    top, bottom = fig.axes
    lines = {line.get_label(): line for line in top.lines}
    assert fig.get_suptitle() == "q?" and lines["perfectly calibrated"].get_xydata().tolist() == [[0, 0], [1, 1]]
    assert list(lines["a"].get_ydata()) == [0.0, 1.0, 0.0, 1.0]  # the 4 filled bins only, empty ones left out
    assert list(lines["b"].get_xdata()) == pytest.approx([0.35, 0.55, 0.85, (0.95 + 0.99 + 0.99) / 3])
    assert bottom.get_yscale() == "log" and sorted(round(p.get_height()) for p in bottom.patches) == [1] * 6 + [3, 3]
