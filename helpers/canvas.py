"""A drawing pad for notebook 06: draw a digit with the mouse, and a model reads it.

The pad records every stroke as a list of (x, y) points and, when the mouse button is
released, redraws the strokes with Pillow (:func:`render_strokes`) and passes that image on.
It does not read the canvas's pixels: those reach Python a moment after you draw, so a quick
digit could be read half-finished.

``reading_pad(model, gate=...)`` is the pad with a reader: after each stroke, :func:`show_reading`
asks ``predict_digit`` and shows the 28×28 input with the top 3; the caption above the canvas
names the model that reads and the digit gate, if any.
"""

from __future__ import annotations

from helpers.plots import plot_prediction
from helpers.predict import choose_gate, model_name, predict_digit
from helpers.preprocess import to_mnist

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from ipycanvas import Canvas, hold_canvas
from PIL import Image, ImageDraw

SIZE = 280  # a 280×280 pixel canvas, 10× MNIST...
PEN = 18  # ...and a pen as thick as MNIST's strokes at that scale


def render_strokes(strokes: list[list[tuple[float, float]]]) -> np.ndarray:
    """The strokes, white (255) on black (0), as a SIZE×SIZE uint8 array: what the canvas shows."""
    page = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(page)
    for points in strokes:
        if len(points) > 1:
            draw.line(points, fill=255, width=PEN, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, and a dot for a single click
            draw.ellipse([x - PEN / 2, y - PEN / 2, x + PEN / 2, y + PEN / 2], fill=255)
    return np.asarray(page)


class DrawingPad:
    """A black canvas with white ink and a Clear button; ``on_drawn(image)`` runs after every stroke.

    ``on_drawn`` gets :func:`render_strokes` of all strokes so far; what it prints or plots appears
    beside the canvas. ``caption``, if given, is shown above the canvas (which model reads, say).
    Show the pad with ``display(pad.widget)``.
    """

    def __init__(self, on_drawn: Callable[[np.ndarray], object], *, caption: str = "") -> None:
        self.on_drawn, self.caption = on_drawn, caption
        self.strokes: list[list[tuple[float, float]]] = []
        self._down = False
        self.canvas = Canvas(width=SIZE, height=SIZE)
        self.canvas.layout.width = self.canvas.layout.height = f"{SIZE}px"
        self.canvas.stroke_style, self.canvas.line_width, self.canvas.line_cap = "white", PEN, "round"
        self.output = widgets.Output()
        clear = widgets.Button(description="Clear", icon="eraser")
        clear.on_click(lambda _: self.clear())
        self.canvas.on_mouse_down(self._on_down)
        self.canvas.on_mouse_move(self._on_move)
        self.canvas.on_mouse_up(self._on_up)
        self.canvas.layout.min_width = f"{SIZE}px"  # a long message beside it must not squeeze the canvas
        above = [widgets.Label(caption)] if caption else []
        pad = widgets.VBox([*above, self.canvas, clear], layout=widgets.Layout(flex="0 0 auto"))
        self.widget = widgets.HBox([pad, self.output])
        self.clear()

    def clear(self) -> None:
        """Forget the strokes, paint the canvas black, empty the output."""
        self.strokes.clear()
        with hold_canvas():
            self.canvas.fill_style = "black"
            self.canvas.fill_rect(0, 0, SIZE, SIZE)
            self.canvas.fill_style = "white"
        self.output.clear_output()

    def _on_down(self, x: float, y: float) -> None:
        self._down = True
        self.strokes.append([(x, y)])

    def _on_move(self, x: float, y: float) -> None:
        if self._down:
            with hold_canvas():
                self.canvas.stroke_line(*self.strokes[-1][-1], x, y)
                self.canvas.fill_circle(x, y, PEN / 2)
            self.strokes[-1].append((x, y))

    def _on_up(self, x: float, y: float) -> None:
        self._down = False
        with self.output:
            self.output.clear_output(wait=True)
            self.on_drawn(render_strokes(self.strokes))


def show_reading(model, image, *, gate=False) -> int | None:
    """Read a drawing as ``predict_digit(model, image, gate=gate)`` does and show the answer: the digit read or None.

    Prints "The model reads D (P% sure)" and plots the 28×28 input beside the top 3; a picture with
    nothing to read (blank, or refused by the gate) prints why instead.
    """
    try:
        reading = predict_digit(model, image, gate=gate)
    except ValueError as error:
        print(f"Nothing to read yet: {error}")
        return None
    digit, probabilities = reading
    print(f"The model reads {digit} ({probabilities[digit]:.0%} sure)")
    plot_prediction(to_mnist(image), probabilities, title=f"What does the model {reading.model!r} read? A {digit}")
    plt.show()
    return digit


def reading_pad(model, *, gate=False) -> DrawingPad:
    """A DrawingPad that ``model`` reads: after each stroke, ``show_reading(model, drawing, gate=gate)``.

    ``gate`` as in ``predict_digit``: False (no gate, the default), None (the gate notebook 08 saved,
    if any), True (the saved gate, required) or a ``helpers.nodigit.Gate``. It is chosen once, here,
    and the caption above the canvas names it and the model, e.g. "Read by the model 'improved', no digit gate".
    """
    chosen, gate_name = choose_gate(gate)
    if chosen is None:
        gate = False  # gate=None and nothing saved: no gate now, nor later in this pad
    elif gate is None:
        gate = True  # the saved gate, as the caption says
    behind = f"behind the digit gate ({gate_name})" if chosen is not None else "no digit gate"
    caption = f"Read by the model {model_name(model)!r}, {behind}"
    return DrawingPad(lambda image: show_reading(model, image, gate=gate), caption=caption)
