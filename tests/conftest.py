"""Shared test parts: loopback ports, and real Keras models with weights set by hand (so their answers are known)."""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow before anything imports it)

import socket

import numpy as np


def free_port() -> int:
    """A loopback port that was free a moment ago, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def classifier(name: str = "reader"):
    """A real (28, 28) -> 10 softmax Keras model, seeded; its answers do not matter, only that it gives them."""
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers, name=name)


def ink_gate(weight: float, bias: float, threshold: float = 0.5, name: str = "gate"):
    """A real digit gate whose score is sigmoid(weight × total ink + bias); weight 0 gives every picture one score."""
    from helpers.nodigit import Gate

    import keras

    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    model = keras.Sequential(layers, name=name)
    model.layers[-1].set_weights([np.full((784, 1), weight, np.float32), np.array([bias], np.float32)])
    return Gate(model, threshold)
