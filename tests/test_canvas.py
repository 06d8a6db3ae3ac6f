"""The drawing pad of notebook 06, driven by the same mouse events the browser sends, and the model that reads it."""

from __future__ import annotations

from helpers import models as course_models
from helpers.canvas import PEN, SIZE, DrawingPad, reading_pad, render_strokes, show_reading

import re

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from conftest import classifier, ink_gate

SEVEN = [(70, 60), (210, 60), (130, 230)]


def test_the_pad_draws_thick_white_lines_with_round_ends_on_black_and_hands_them_on_when_the_mouse_is_released():
    image = render_strokes([[(40, 140), (240, 140)]])
    assert image.shape == (SIZE, SIZE) and image.dtype == np.uint8 and image[140, 140] == 255 and image[0, 0] == 0
    assert abs(np.count_nonzero(image[:, 140]) - PEN) <= 2  # as thick as the pen
    assert image[140, 40 - PEN // 2 + 2] == 255  # a round end reaches past the first point
    dot = render_strokes([[(100, 100)]])  # a single click leaves a dot
    assert dot[100, 100] == 255 and 0 < np.count_nonzero(dot) < 2 * PEN * PEN
    received = []  # the pad hands on every stroke so far when the mouse is released
    pad = DrawingPad(on_drawn=received.append)
    pad._on_move(10, 10)  # moving without a pressed button draws nothing
    pad._on_down(*SEVEN[0])
    for point in SEVEN[1:]:
        pad._on_move(*point)
    assert received == []  # nothing is read while the stroke is still being drawn
    pad._on_up(*SEVEN[-1])
    assert pad.strokes == [SEVEN] and np.array_equal(received[0], render_strokes([SEVEN]))
    pad._on_down(20, 20)
    pad._on_up(20, 20)
    assert len(received) == 2 and np.array_equal(received[1], render_strokes([SEVEN, [(20, 20)]]))
    pad.clear()
    assert pad.strokes == []


def test_the_reading_pad_prints_the_digit_read_or_why_none_and_names_its_model_and_gate(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)  # no saved gate
    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    digit = show_reading(model := classifier(), render_strokes([SEVEN]), gate=False)
    assert re.fullmatch(rf"The model reads {digit} \(\d+% sure\)\n", capsys.readouterr().out)
    assert show_reading(model, render_strokes([]), gate=False) is None
    assert capsys.readouterr().out.startswith("Nothing to read yet: no digit found")
    pad = reading_pad(model, gate=False)
    pad._on_down(*SEVEN[0])
    pad._on_move(*SEVEN[1])
    pad._on_up(*SEVEN[1])
    assert re.search(r"The model reads \d \(\d+% sure\)\n$", capsys.readouterr().out)  # after clear_output's codes
    pad = reading_pad(classifier("improved"))
    assert pad.caption == "Read by the model 'improved', no digit gate"
    assert [w.value for w in pad.widget.children[0].children if isinstance(w, widgets.Label)] == [pad.caption]
    assert reading_pad(classifier(), gate=None).caption.endswith("no digit gate")  # nothing saved: no gate
    gated = reading_pad(classifier("cnn"), gate=ink_gate(0.0, 0.0, name="my_gate"))
    assert gated.caption == "Read by the model 'cnn', behind the digit gate ('my_gate', passed in)"
    assert DrawingPad(on_drawn=print).caption == ""  # a pad without a reader has no caption
