"""End to end: small MLP, CNN and LSTM models learn with plain SGD on synthetic data."""

import numpy as np

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(3)


def sgd(model, loss_fn, x, y, steps, lr):
    losses = []
    params = list(model.parameters())
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= lr * p.grad.data
        losses.append(loss.item())
    return losses


def test_mlp_learns_blobs():
    nn.init.manual_seed(0)
    centers = RNG.standard_normal((3, 5)) * 3
    y = RNG.integers(0, 3, 90)
    x = cr.tensor((centers[y] + RNG.standard_normal((90, 5))).astype(np.float32))
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    losses = sgd(model, nn.CrossEntropyLoss(), x, y, 60, 0.2)
    assert losses[-1] < 0.25 * losses[0]
    model.eval()
    accuracy = (model(x).data.argmax(1) == y).mean()
    assert accuracy > 0.9


def test_cnn_learns_bars():
    nn.init.manual_seed(0)
    y = RNG.integers(0, 2, 40)
    x = RNG.standard_normal((40, 1, 8, 8)) * 0.3
    for i, label in enumerate(y):      # vertical bar for class 0, horizontal for 1
        pos = RNG.integers(1, 7)
        if label == 0:
            x[i, 0, :, pos] += 2
        else:
            x[i, 0, pos, :] += 2
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.ReLU(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 2))
    losses = sgd(model, nn.CrossEntropyLoss(), cr.tensor(x.astype(np.float32)), y, 40, 0.1)
    assert losses[-1] < 0.3 * losses[0]


def test_lstm_learns_to_sum_a_sequence():
    nn.init.manual_seed(0)

    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 8, batch_first=True)
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return self.head(out[:, -1])

    x = RNG.uniform(-1, 1, (32, 5, 1))
    y = cr.tensor(x.sum(1).astype(np.float32))
    model = Regressor()
    losses = sgd(model, nn.MSELoss(), cr.tensor(x.astype(np.float32)), y, 80, 0.1)
    assert losses[-1] < 0.2 * losses[0]
