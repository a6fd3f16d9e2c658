"""cr.nn.Module: registration, traversal order, modes, state_dict round trips, dtype, repr."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(4))
        self.register_buffer("count", np.zeros(()))
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x)) * self.scale


def test_parameters_are_registered_in_pytorch_order():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), Block())
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.scale", "2.fc.weight", "2.fc.bias"]
    assert [n for n, _ in net.named_buffers()] == ["2.count"]
    assert len(list(net.parameters())) == 5
    assert net.num_parameters() == 6 + 3 + 4 + 12 + 4
    assert all(isinstance(p, cr.Tensor) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "2", "2.fc", "2.drop"]


def test_shared_parameters_are_listed_once():
    fc = nn.Linear(2, 2)
    net = nn.Sequential(fc, fc)
    assert len(list(net.parameters())) == 2


def test_attribute_assignment_rules():
    m = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = np.ones(4)
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    m.count = np.array(3.0)
    assert isinstance(m.count, cr.Tensor) and m.count.item() == 3.0
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing  # noqa: B018

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(AttributeError, match="super"):
        Early()


def test_train_eval_propagate():
    net = nn.Sequential(Block(), nn.Sequential(nn.Dropout()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_backward_fill_grads():
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    x = cr.tensor(np.ones((4, 3), np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_and_copies():
    cr.nn.init.manual_seed(1)
    a = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    b = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    state = a.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "1.num_batches_tracked"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["0.weight"][...] = 7  # a copy: the model is untouched
    assert not np.any(a[0].weight.data == 7)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(p, q)
    weight = b[0].weight
    b.load_state_dict(a.state_dict())
    assert b[0].weight is weight  # loaded in place
    assert weight.dtype == np.float32


def test_load_state_dict_errors_name_the_problem():
    net = nn.Sequential(nn.Linear(3, 4))
    state = net.state_dict()
    bad = OrderedDict(state)
    bad["0.weight"] = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"'0.weight': expected shape \(4, 3\), got \(4, 5\)"):
        net.load_state_dict(bad)
    missing = OrderedDict(state)
    del missing["0.bias"]
    missing["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys: \['0.bias'\].*unexpected keys: "
                                       r"\['extra'\]"):
        net.load_state_dict(missing)
    result = net.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]


def test_dtype_conversion_keeps_parameter_identity():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    params = list(net.parameters())
    assert all(p.dtype == np.float32 for p in params)
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64
    out = net(cr.tensor(np.ones((3, 3))))
    assert out.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to("cpu")
    net.to(np.float64)
    assert net[0].weight.dtype == np.float64
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64


def test_repr_reads_like_pytorch():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16, 10, bias=False))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=16, out_features=10, bias=False)\n"
        ")")
    assert repr(nn.Parameter(np.zeros(2))).startswith("Parameter containing:\ntensor(")


def test_sequential_list_dict_containers():
    net = nn.Sequential(OrderedDict(first=nn.Linear(2, 3), act=nn.ReLU()))
    assert isinstance(net[0], nn.Linear) and isinstance(net[-1], nn.ReLU)
    assert len(net) == 2 and len(net[:1]) == 1
    net.append(nn.Linear(3, 1))
    assert [n for n, _ in net.named_parameters()] == ["first.weight", "first.bias", "2.weight",
                                                      "2.bias"]
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(layers.parameters())) == 6 and len(layers) == 3
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 1)
    assert list(heads.keys()) == ["a", "b"] and "b" in heads
    assert [n for n, _ in heads.named_parameters()][-1] == "b.bias"


def test_functional_call_swaps_parameters_temporarily():
    fc = nn.Linear(2, 1, dtype=np.float64)
    x = cr.tensor([[1.0, 2.0]])
    w = cr.tensor([[3.0, 4.0]])
    out = nn.functional_call(fc, {"weight": w, "bias": cr.tensor([0.5])}, x)
    assert out.item() == 11.5
    assert fc.weight.shape == (1, 2) and fc.weight is not w
    g = cr.grad(lambda w: nn.functional_call(fc, {"weight": w}, x).sum())(w)
    np.testing.assert_allclose(g.data, [[1.0, 2.0]])


def test_init_is_seeded_and_matches_pytorch_bounds():
    nn.init.manual_seed(123)
    a = nn.Linear(50, 30)
    nn.init.manual_seed(123)
    b = nn.Linear(50, 30)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    c = nn.Linear(50, 30)
    assert not np.array_equal(a.weight.data, c.weight.data)
    bound = 1 / np.sqrt(50)  # kaiming_uniform(a=sqrt(5)) gives U(+-1/sqrt(fan_in))
    assert np.abs(a.weight.data).max() <= bound and np.abs(a.weight.data).max() > 0.9 * bound
    assert np.abs(a.bias.data).max() <= bound
    conv = nn.Conv2d(3, 8, 3, generator=np.random.default_rng(0))
    assert np.abs(conv.weight.data).max() <= 1 / np.sqrt(27)


def test_initializers():
    g = np.random.default_rng(0)
    w = nn.Parameter(np.zeros((200, 300)))
    nn.init.xavier_uniform_(w, generator=g)
    assert np.abs(w.data).max() <= np.sqrt(6 / 500)
    nn.init.xavier_normal_(w, generator=g)
    np.testing.assert_allclose(w.data.std(), np.sqrt(2 / 500), rtol=0.05)
    nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g)
    np.testing.assert_allclose(w.data.std(), np.sqrt(2 / 300), rtol=0.05)
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu", generator=g)
    assert np.abs(w.data).max() <= np.sqrt(6 / 200)
    nn.init.orthogonal_(w, generator=g)
    np.testing.assert_allclose(w.data @ w.data.T, np.eye(200), atol=1e-10)
    nn.init.constant_(w, 0.25)
    assert np.all(w.data == 0.25)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match="at least 2 dims"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))
