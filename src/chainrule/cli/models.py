"""The three classifiers `chainrule train` builds: an MLP, a small CNN and an RNN that reads
an image row by row. Each takes images (N, H, W) and returns logits (N, classes); each is
rebuilt from its `config` dict (stored in the checkpoint) by `build_model`."""

from __future__ import annotations

import chainrule as cr

nn = cr.nn

MODELS = ("mlp", "cnn", "rnn")

# Per model: epochs, batch size, width and Adam's learning rate (the other optimizers use
# LEARNING_RATES), chosen so that each clears its accuracy target on the digits for every
# seed we tried (mlp 97.8-98.3 %, cnn 98.3-98.9 %, rnn 96.7-97.8 % over seeds 0-4).
DEFAULTS = {
    "mlp": {"epochs": 30, "batch_size": 32, "hidden": 256, "lr": 2e-3},
    "cnn": {"epochs": 20, "batch_size": 32, "hidden": 16, "lr": 3e-3},
    "rnn": {"epochs": 30, "batch_size": 32, "hidden": 128, "lr": 3e-3},
}
LEARNING_RATES = {"rmsprop": 1e-3, "sgd": 0.05}


class MLP(nn.Module):
    """Flatten -> Linear(H*W, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU ->
    Linear(hidden, classes)."""

    def __init__(self, height, width, classes, hidden=128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(height * width, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    """Two blocks of Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2) (channels hidden, then
    2 * hidden), then Flatten -> Linear(.., classes). Input (N, H, W) is read as 1 channel."""

    def __init__(self, height, width, classes, hidden=16):
        super().__init__()
        c1, c2 = hidden, 2 * hidden
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (height // 4) * (width // 4), classes))

    def forward(self, x):
        n, h, w = x.shape
        return self.classifier(self.features(x.reshape(n, 1, h, w)))


class RowRNN(nn.Module):
    """An Elman RNN (tanh) reads the H rows of W pixels; the last hidden state goes through
    Linear(hidden, classes)."""

    def __init__(self, height, width, classes, hidden=64):
        super().__init__()
        self.rnn = nn.RNN(width, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


_CLASSES = {"mlp": MLP, "cnn": CNN, "rnn": RowRNN}


def min_size(model: str) -> int:
    return 4 if model == "cnn" else 1


def build_model(config: dict) -> nn.Module:
    """The model described by `config` (keys model, height, width, classes, hidden)."""
    cls = _CLASSES[config["model"]]
    return cls(int(config["height"]), int(config["width"]), int(config["classes"]),
               int(config["hidden"]))
