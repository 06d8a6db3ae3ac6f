"""Plot helpers: one figure per question, colour-blind-safe, readable in grayscale."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator, PercentFormatter

PALETTE = "colorblind"
# The course's one display convention for digits: pixel value 0 (no ink) is drawn white and
# the highest value (full ink) black, as ink on paper. In the data MNIST's ink is the *high*
# value; notebook 01 explains the choice once, every figure follows it.
DIGIT_CMAP = "gray_r"


def use_course_style() -> None:
    """Apply the course's plot style: colour-blind palette, 100 dpi, constrained layout (no overlapping titles)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.constrained_layout.use": True,
            "axes.titleweight": "bold",
            "image.cmap": "viridis",
        }
    )


def show_digits(
    images: np.ndarray,
    labels=None,
    *,
    ncols: int = 10,
    title: str | None = None,
    size: float = 1.2,
    shared_scale: bool = True,
) -> plt.Figure:
    """Show images in a grid, each captioned with its label (if given).

    With ``shared_scale`` (the default) one grey level means one pixel value in every image;
    ``shared_scale=False`` stretches each image from 0 to its own maximum.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"show_digits expects a stack of 2-D images (N, H, W), got shape {images.shape}")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.5 if title else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            top = images.max() if shared_scale else images[i].max()
            ax.imshow(images[i], cmap=DIGIT_CMAP, vmin=0, vmax=max(1e-9, float(top)))
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=11, fontweight="normal")
    if title:
        fig.suptitle(title)
    return fig


def plot_class_balance(y_train: np.ndarray, y_test: np.ndarray) -> plt.Figure:
    """Bar chart: how many examples of each digit are in the training and test sets?"""
    counts = pd.DataFrame(
        {
            "digit": np.tile(np.arange(10), 2),
            "split": ["train"] * 10 + ["test"] * 10,
            "count": np.concatenate([np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)]),
        }
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, split, colour in zip(axes, ["train", "test"], sns.color_palette(PALETTE, 2), strict=True):
        part = counts[counts.split == split]
        sns.barplot(data=part, x="digit", y="count", color=colour, ax=ax)
        ax.bar_label(ax.containers[0], fontsize=8)
        ax.set(title=f"{split}: {part['count'].sum():,} images", xlabel="digit", ylabel="images")
        ax.axhline(part["count"].mean(), ls="--", color="black", lw=1, label="mean")
        ax.legend(loc="lower right")
    fig.suptitle("Are the ten digits equally common?")
    return fig


def show_image_row(
    images: list[np.ndarray],
    titles: list[str],
    *,
    suptitle: str,
    size: float = 1.6,
    frame: bool = False,
) -> plt.Figure:
    """Show a row of images (e.g. mean digits), each with a title; ``frame`` outlines each picture's edges."""
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size + 0.8), squeeze=False)
    vmax = max(float(np.max(img)) for img in images)
    for ax, img, title in zip(axes[0], images, titles, strict=True):
        ax.imshow(img, cmap=DIGIT_CMAP, vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=11, fontweight="normal")
        if frame:  # no ticks, but the frame shows where each picture ends
            ax.set(xticks=[], yticks=[])
            ax.grid(False)
        else:
            ax.axis("off")
    fig.suptitle(suptitle)
    return fig


def plot_learning_curves(history: dict, title: str = "Is the model still learning, or overfitting?") -> plt.Figure:
    """Loss and accuracy per epoch, training vs validation, plus the validation loss on its own scale.

    The middle panel zooms in on the validation loss, whose rise after its lowest point (the
    start of overfitting) is too small to see next to the falling training loss.
    """
    h = history.history if hasattr(history, "history") else history
    epochs = np.arange(1, len(h["loss"]) + 1)
    best = int(np.argmin(h["val_loss"])) + 1 if "val_loss" in h else None
    fig, axes = plt.subplots(1, 3 if best else 2, figsize=(14 if best else 10, 3.8))
    panels = [("loss", axes[0], True), ("accuracy", axes[-1], True)]
    if best:
        panels.insert(1, ("loss", axes[1], False))
    for metric, ax, with_training in panels:
        if with_training:
            ax.plot(epochs, h[metric], "o-", label="training", color="C0")
        if f"val_{metric}" in h:
            ax.plot(epochs, h[f"val_{metric}"], "s--", label="validation", color="C1")
        if best:
            ax.axvline(best, color="gray", ls=":", label=f"lowest val. loss (epoch {best})")
        name = metric if with_training else "validation loss alone (zoomed)"
        ax.set(xlabel="epoch", ylabel=metric, title=name)
        # whole epochs only, and at most about six labels, so they stay apart at 20 epochs or 200
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10]))
        ax.legend(fontsize=9)
    fig.suptitle(title)
    return fig


def plot_model_comparison(runs, title: str = "Which model is more accurate on validation data?") -> plt.Figure:
    """Validation accuracy of each model (``runs``: one dict per model and seed): mean ± std over seeds
    as a diamond with error bars, every single seed as a grey dot."""
    df = pd.DataFrame(runs)
    order = list(dict.fromkeys(df["model"]))
    stats = df.groupby("model", sort=False)["val_accuracy"].agg(["mean", "std"]).reindex(order)
    fig, ax = plt.subplots(figsize=(1.9 * len(order) + 2, 3.8))
    colours = sns.color_palette(PALETTE, len(order))
    for i, name in enumerate(order):
        values = df.loc[df["model"] == name, "val_accuracy"]
        ax.scatter(
            np.full(len(values), i) + np.linspace(-0.15, 0.15, len(values)),
            values,
            color="gray",
            marker="o",
            s=22,
            zorder=2,
            label="one seed" if i == 0 else None,
        )
        ax.errorbar(
            i,
            stats.loc[name, "mean"],
            yerr=0 if np.isnan(stats.loc[name, "std"]) else stats.loc[name, "std"],
            fmt="D",
            color=colours[i],
            markersize=10,
            capsize=8,
            elinewidth=2,
            zorder=3,
            label="mean ± std over seeds" if i == 0 else None,
        )
    ax.set_xticks(range(len(order)), order)
    ax.set_xlim(-0.6, len(order) - 0.4)
    low, high = df["val_accuracy"].min(), df["val_accuracy"].max()
    ax.set_ylim(low - 0.25 * (high - low) - 1e-3, high + 0.35 * (high - low) + 1e-3)
    ax.set(ylabel="validation accuracy", title=title)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.legend(loc="upper left")
    return fig


# Shared look of the 10×10 digit matrices: small numbers in square cells with white grid lines.
_MATRIX_STYLE = {"annot_kws": {"fontsize": 8}, "square": True, "linewidths": 0.5, "linecolor": "white"}


def plot_confusion_matrix(
    cm: np.ndarray, *, normalized: bool = False, title: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Annotated heatmap of a confusion matrix (rows: true digit, columns: predicted digit)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.2, 5.2))
    cm = np.asarray(cm)
    shown = cm * 100 if normalized else cm
    # A log-like colour scale would hide the diagonal; instead cap the colours so errors stay visible.
    off_diagonal = shown[~np.eye(len(shown), dtype=bool)]
    vmax = max(float(off_diagonal.max()) * 1.2, 1e-9)
    sns.heatmap(
        shown,
        annot=True,
        fmt=".1f" if normalized else "d",
        cmap="rocket_r",
        vmin=0,
        vmax=vmax,
        cbar_kws={"label": "% of the true digit" if normalized else "images"},
        ax=ax,
        **_MATRIX_STYLE,
    )
    ax.grid(False)
    ax.set(
        xlabel="predicted digit",
        ylabel="true digit",
        title=title
        or (
            "Which digits are mistaken for which? (% of each row)"
            if normalized
            else "Which digits are mistaken for which? (counts)"
        ),
    )
    return ax


def plot_confusion_difference(
    cm_before: np.ndarray,
    cm_after: np.ndarray,
    *,
    names=("baseline", "improved"),
    title: str = "Where did the improvement come from?",
) -> plt.Figure:
    """Change in each cell between two confusion matrices, off-diagonal only: blue = fewer mistakes."""
    diff = np.asarray(cm_after, dtype=int) - np.asarray(cm_before, dtype=int)
    mask = np.eye(len(diff), dtype=bool)
    limit = max(1, int(np.abs(diff[~mask]).max()))
    labels = np.where(diff == 0, "", np.char.mod("%+d", diff))  # unchanged cells stay blank
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    sns.heatmap(
        diff,
        mask=mask,
        annot=labels,
        fmt="",
        cmap="vlag",
        center=0,
        vmin=-limit,
        vmax=limit,
        cbar_kws={"label": f"mistakes: {names[1]} minus {names[0]}"},
        ax=ax,
        **_MATRIX_STYLE,
    )
    ax.grid(False)
    ax.set(xlabel="predicted digit (blank: no change)", ylabel="true digit", title=title)
    return fig


def plot_confidence_histograms(
    confidence: np.ndarray, correct: np.ndarray, title: str = "Is the model over-confident when it is wrong?"
) -> plt.Figure:
    """Histograms of the top probability for correct and for wrong predictions."""
    confidence, correct = np.asarray(confidence), np.asarray(correct, dtype=bool)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    bins = np.linspace(0, 1, 21)
    for ax, mask, label, colour in [(axes[0], correct, "correct", "C0"), (axes[1], ~correct, "wrong", "C3")]:
        ax.hist(confidence[mask], bins=bins, color=colour, edgecolor="white")
        log = label == "correct"  # thousands of correct predictions: a log axis keeps the small bars visible
        ax.set(
            title=f"{label} predictions ({mask.sum():,})",
            xlabel="confidence (highest probability)",
            ylabel="predictions (log scale)" if log else "predictions",
            yscale="log" if log else "linear",
        )
    fig.suptitle(title)
    return fig


def plot_prediction(image_28x28, probabilities, title: str | None = None) -> plt.Figure:
    """Figure: the 28×28 input as the model sees it, next to its three most probable digits."""
    probs = np.asarray(probabilities, dtype=float)
    top = np.argsort(probs)[::-1][:3]
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3), gridspec_kw={"width_ratios": [1, 1.6]})
    left.imshow(image_28x28, cmap=DIGIT_CMAP, vmin=0, vmax=1)
    left.set(title="input (28×28)", xticks=[], yticks=[])
    colours = sns.color_palette(PALETTE, 3)
    bars = right.barh([str(d) for d in top][::-1], probs[top][::-1], color=colours[::-1])
    right.bar_label(bars, labels=[f"{p:.0%}" for p in probs[top][::-1]], padding=3)
    right.set(xlim=(0, 1.15), xlabel="probability", ylabel="digit", title="top 3")
    fig.suptitle(title or "What does the model read?")
    return fig


def plot_learning_rates(
    curves: dict, reference: dict[str, tuple[float, str]] | None = None, title: str = ""
) -> plt.Figure:
    """Validation loss (log scale) and accuracy per epoch, one line per learning rate, on shared axes.

    ``curves`` maps a label to a table indexed by epoch with ``val_loss`` and ``val_accuracy`` columns;
    ``reference`` optionally draws a labelled dashed line per column, e.g. ``{"val_loss": (2.30, "chance")}``.
    """
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    panels = [("val_loss", axes[0], "validation loss"), ("val_accuracy", axes[1], "validation accuracy")]
    for column, ax, name in panels:
        for (label, curve), marker in zip(curves.items(), ["o", "s", "^", "D", "v"], strict=False):
            ax.plot(curve.index, curve[column], marker=marker, ls="-", label=label)
        if reference and column in reference:
            value, text = reference[column]
            ax.axhline(value, color="gray", ls="--", lw=1)
            ax.annotate(
                text,
                (0, value),
                xycoords=("axes fraction", "data"),
                xytext=(4, 3),
                textcoords="offset points",
                color="gray",
                fontsize=9,
            )
        ax.set(xlabel="epoch", ylabel=name, title=name + (" (log scale)" if column == "val_loss" else ""))
        ax.set_xticks(next(iter(curves.values())).index)
    axes[0].set_yscale("log")
    axes[1].yaxis.set_major_formatter(PercentFormatter(1.0))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), title="learning rate")
    fig.suptitle(title)
    return fig


def plot_reliability(tables: dict, title: str = "Is the model as sure as it is right?") -> plt.Figure:
    """Reliability diagram: accuracy against mean confidence in each confidence bin, one line per model,
    with the diagonal of perfect calibration; below it, the number of predictions in each bin (log scale).

    ``tables`` maps a label to ``helpers.evaluation.reliability_table(...)``; empty bins are left out.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.6, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    top.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="perfectly calibrated")
    top.text(0.62, 0.3, "below the line:\nover-confident", color="0.35", fontsize=9, ha="center")
    top.text(0.3, 0.72, "above the line:\nunder-confident", color="0.35", fontsize=9, ha="center")
    colours = sns.color_palette(PALETTE, len(tables))
    width = 0.8 / max(len(tables), 1)
    for i, ((label, table), colour, marker) in enumerate(zip(tables.items(), colours, "osD^v", strict=False)):
        filled = table[table["images"] > 0]
        top.plot(filled["confidence"], filled["accuracy"], marker=marker, color=colour, label=label)
        step = filled["high"] - filled["low"]
        centres = filled["low"] + step * (0.1 + width * (i + 0.5))  # side by side inside each bin
        bottom.bar(centres, filled["images"], width=step * width, color=colour, label=label)
    top.set(ylabel="accuracy in the bin", xlim=(0, 1), ylim=(0, 1.02))
    top.xaxis.set_major_formatter(PercentFormatter(1.0))
    top.yaxis.set_major_formatter(PercentFormatter(1.0))
    top.legend(loc="upper left")
    bottom.set(yscale="log", xlabel="confidence (highest probability), bins of equal width", ylabel="predictions (log)")
    fig.suptitle(title)
    return fig
