"""`cr.nn.models`: the image classifiers `chainrule train` builds, an MLP, a small CNN, an
RNN that reads an image row by row and a transformer encoder over the rows as tokens.
Each takes images (N, H, W) and returns logits (N, classes); `build_model(config)`
rebuilds one from its `config` dict (the one stored in a checkpoint), after checking it,
and `parameter_count(config)` says how big it would be without allocating anything."""

from __future__ import annotations

import numbers

import numpy as np

import chainrule as cr

from . import init
from .layers import (
    RNN,
    Conv2d,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    ReLU,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .module import Module, Sequential
from .parameter import Parameter

__all__ = ["MODELS", "MLP", "CNN", "RowRNN", "RowTransformer", "build_model", "check_config",
           "min_size",
           "parameter_count"]

MODELS = ("mlp", "cnn", "rnn", "transformer")
_LIMIT = 1 << 16  # the largest height, width, class count or width of a hidden layer


class MLP(Module):
    """Flatten -> Linear(H*W, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU ->
    Linear(hidden, classes)."""

    def __init__(self, height, width, classes, hidden=128):
        super().__init__()
        self.net = Sequential(
            Flatten(), Linear(height * width, hidden), ReLU(),
            Linear(hidden, hidden), ReLU(), Linear(hidden, classes))

    @staticmethod
    def parameter_count(height, width, classes, hidden):
        """Weights and biases of the three Linear layers."""
        return (height * width + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * classes

    def forward(self, x):
        return self.net(x)


class CNN(Module):
    """Two blocks of Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2) (channels hidden, then
    2 * hidden), then Flatten -> Linear(.., classes). Input (N, H, W) is read as 1 channel."""

    def __init__(self, height, width, classes, hidden=16):
        super().__init__()
        c1, c2 = hidden, 2 * hidden
        self.features = Sequential(
            Conv2d(1, c1, 3, padding=1), ReLU(), MaxPool2d(2),
            Conv2d(c1, c2, 3, padding=1), ReLU(), MaxPool2d(2))
        self.classifier = Sequential(
            Flatten(), Linear(c2 * (height // 4) * (width // 4), classes))

    @staticmethod
    def parameter_count(height, width, classes, hidden):
        """Two 3x3 convolutions with biases, then the Linear head."""
        c1, c2 = hidden, 2 * hidden
        return (9 + 1) * c1 + (9 * c1 + 1) * c2 + (c2 * (height // 4) * (width // 4) + 1) * classes

    def forward(self, x):
        n, h, w = x.shape
        return self.classifier(self.features(x.reshape(n, 1, h, w)))


class RowRNN(Module):
    """An Elman RNN (tanh) reads the H rows of W pixels; the last hidden state goes through
    Linear(hidden, classes)."""

    def __init__(self, height, width, classes, hidden=64):
        super().__init__()
        self.rnn = RNN(width, hidden, batch_first=True)
        self.head = Linear(hidden, classes)

    @staticmethod
    def parameter_count(height, width, classes, hidden):
        """W_ih, W_hh and their two biases, then the Linear head."""
        return (width + hidden + 2) * hidden + (hidden + 1) * classes

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class RowTransformer(Module):
    """The H rows of an image as H tokens: Linear(W, hidden) plus a learned position
    embedding, two pre-norm TransformerEncoderLayers (4 heads, feed-forward 2 * hidden),
    a LayerNorm, the mean over tokens, Linear(hidden, classes)."""

    HEADS, LAYERS = 4, 2

    def __init__(self, height, width, classes, hidden=32):
        super().__init__()
        if hidden % self.HEADS:
            raise ValueError(f"transformer: hidden {hidden} must be divisible by "
                             f"{self.HEADS} heads")
        self.embed = Linear(width, hidden)
        self.position = Parameter(np.zeros((height, hidden), init.get_default_dtype()))
        init.normal_(self.position, std=0.02)
        layer = TransformerEncoderLayer(hidden, self.HEADS, 2 * hidden, dropout=0.0,
                                        batch_first=True, norm_first=True)
        self.encoder = TransformerEncoder(layer, self.LAYERS)
        self.norm = LayerNorm(hidden)
        self.head = Linear(hidden, classes)

    @staticmethod
    def parameter_count(height, width, classes, hidden):
        """Embedding and positions, per layer attention (4 d^2 + 4 d), feed-forward
        (4 d^2 + 3 d) and two norms (4 d), the final norm and the head."""
        d = hidden
        per_layer = 4 * d * d + 4 * d + 4 * d * d + 3 * d + 4 * d
        return ((width + 1) * d + height * d + RowTransformer.LAYERS * per_layer + 2 * d
                + (d + 1) * classes)

    def forward(self, x):
        tokens = self.embed(x) + self.position
        return self.head(cr.mean(self.norm(self.encoder(tokens)), axis=1))


_CLASSES = {"mlp": MLP, "cnn": CNN, "rnn": RowRNN, "transformer": RowTransformer}


def min_size(model: str) -> int:
    """The smallest image side `model` reads (the CNN pools twice by 2)."""
    return 4 if model == "cnn" else 1


def check_config(config) -> dict:
    """`config` with its model name and sizes checked: a ValueError says what is wrong
    (checkpoints come from files, so nothing in them is trusted)."""
    if not isinstance(config, dict):
        raise ValueError(f"a model config is a dict, got {type(config).__name__}")
    if config.get("model") not in MODELS:
        raise ValueError(f"unknown model {str(config.get('model'))[:40]!r}; choose one of "
                         f"{', '.join(MODELS)}")
    sizes = {}
    for key in ("height", "width", "classes", "hidden"):
        value = config.get(key)
        if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                or not 1 <= value <= _LIMIT):
            raise ValueError(f"config[{key!r}] must be a whole number from 1 to {_LIMIT}, "
                             f"got {str(value)[:40]}")
        sizes[key] = int(value)
    side = min_size(config["model"])
    if min(sizes["height"], sizes["width"]) < side:
        raise ValueError(f"model {config['model']} needs images of at least {side}x{side}, "
                         f"got {sizes['height']}x{sizes['width']}")
    return {**config, **sizes}


def parameter_count(config: dict) -> int:
    """How many numbers the model described by `config` holds (nothing is allocated)."""
    config = check_config(config)
    return _CLASSES[config["model"]].parameter_count(
        config["height"], config["width"], config["classes"], config["hidden"])


def build_model(config: dict) -> Module:
    """The model described by `config` (keys model, height, width, classes, hidden)."""
    config = check_config(config)
    return _CLASSES[config["model"]](config["height"], config["width"], config["classes"],
                                     config["hidden"])
