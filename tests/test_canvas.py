"""The drawing pad of notebook 06, driven by the same mouse events the browser sends, and the model that reads it."""

from __future__ import annotations

from helpers.canvas import PEN, SIZE, DrawingPad, reading_pad, render_strokes, show_reading

import re

import numpy as np


def test_render_strokes_draws_thick_white_lines_on_black():
    image = render_strokes([[(40, 140), (240, 140)]])
    assert image.shape == (SIZE, SIZE) and image.dtype == np.uint8
    assert image[140, 140] == 255 and image[0, 0] == 0
    rows = np.flatnonzero(image[:, 140])
    assert abs(len(rows) - PEN) <= 2  # as thick as the pen
    assert image[140, 40 - PEN // 2 + 2] == 255  # a round end reaches past the first point
    dot = render_strokes([[(100, 100)]])  # a single click leaves a dot
    assert dot[100, 100] == 255 and 0 < np.count_nonzero(dot) < 2 * PEN * PEN


def test_the_pad_records_strokes_and_hands_the_drawing_on_when_the_mouse_is_released():
    received = []
    pad = DrawingPad(on_drawn=received.append)
    pad._on_move(10, 10)  # moving without a pressed button draws nothing
    assert pad.strokes == [] and received == []
    pad._on_down(70, 60)
    pad._on_move(210, 60)
    pad._on_move(130, 230)
    assert received == []  # nothing is read while the stroke is still being drawn
    pad._on_up(130, 230)
    assert pad.strokes == [[(70, 60), (210, 60), (130, 230)]]
    (image,) = received
    np.testing.assert_array_equal(image, render_strokes([[(70, 60), (210, 60), (130, 230)]]))
    pad._on_down(20, 20)
    pad._on_up(20, 20)
    assert len(received) == 2 and received[1][20, 20] == 255 and received[1][60, 140] == 255  # all strokes so far
    pad.clear()
    assert pad.strokes == []


def reader(name: str = "improved"):
    """A real Keras classifier with a known name (its answers do not matter here)."""
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers, name=name)


def test_the_reading_pad_names_its_model_and_gate_above_the_canvas(monkeypatch, tmp_path):
    from helpers import models as course_models
    from helpers.nodigit import Gate

    import ipywidgets as widgets

    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)  # no saved gate
    pad = reading_pad(reader())
    assert pad.caption == "Read by the model 'improved', no digit gate"
    labels = [w.value for w in pad.widget.children[0].children if isinstance(w, widgets.Label)]
    assert labels == [pad.caption], "the caption is shown above the canvas"
    assert reading_pad(reader(), gate=None).caption.endswith("no digit gate")  # nothing saved: no gate
    gate = Gate(reader("my_gate"), 0.5)
    assert reading_pad(reader("cnn"), gate=gate).caption == (
        "Read by the model 'cnn', behind the digit gate ('my_gate', passed in)"
    )
    assert DrawingPad(on_drawn=print).caption == ""  # a pad without a reader has no caption


def test_show_reading_prints_the_digit_or_why_there_is_none(capsys, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    model = reader()
    digit = show_reading(model, render_strokes([[(70, 60), (210, 60), (130, 230)]]), gate=False)
    assert 0 <= digit <= 9
    assert re.fullmatch(rf"The model reads {digit} \(\d+% sure\)\n", capsys.readouterr().out)
    assert show_reading(model, render_strokes([]), gate=False) is None
    assert capsys.readouterr().out.startswith("Nothing to read yet: no digit found")


def test_the_reading_pad_reads_each_drawing_with_its_model(capsys, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    pad = reading_pad(reader(), gate=False)
    pad._on_down(70, 60)
    pad._on_move(210, 60)
    pad._on_up(130, 230)
    assert re.search(r"The model reads \d \(\d+% sure\)\n$", capsys.readouterr().out)  # after clear_output's codes
