"""The drawing pad of notebook 06, driven by the same mouse events the browser sends."""

from __future__ import annotations

from helpers.canvas import PEN, SIZE, DrawingPad, render_strokes

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
