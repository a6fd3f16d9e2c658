"""cr.optim and cr.nn.utils.clip_grad_norm_: every update rule against PyTorch's numbers.

REFERENCE holds w[0] and b after 12 steps of minimizing sum(tanh(x @ w + b)^2) in float64,
computed once with torch 2.13 (torch.optim, same hyperparameters and start) and pasted
here, so the tests need no torch.
"""

import math

import numpy as np
import pytest

import chainrule as cr

REFERENCE = [
    ("SGD", {"lr": 0.05}, [-0.3440900917409048, -0.08094510783349129, 0.6136942626377754, -0.6649405528581683, 0.05211199415393842, -0.37642204342955676]),  # noqa: E501
    ("SGD", {"lr": 0.05, "momentum": 0.9}, [-0.44760607200517133, -0.05766229079455454, 0.39963801050765874, -0.30528486967542195, -0.15417612586455337, -0.04932596087095624]),  # noqa: E501
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, [-0.2335097065343785, 0.06748167509363885, 0.3229867831484611, -0.4992966413668828, 0.04939194777739896, 0.22182472084352292]),  # noqa: E501
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, [-0.6343633554941017, -0.13583294526375536, 0.6324443214745935, -0.3478517305001792, 0.15541820872463594, -0.07128892082437951]),  # noqa: E501
    ("Adam", {"lr": 0.05}, [-0.4806750524301006, -0.18450115962322872, 0.5491948550853463, -0.702777254733769, -0.15964329516642725, -0.5563079517276921]),  # noqa: E501
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}, [-0.481230101530335, -0.18163374530644835, 0.5332485834153149, -0.6378055206866933, -0.13671747254788807, -0.5320472543007029]),  # noqa: E501
    ("AdamW", {"lr": 0.05}, [-0.47944172880158736, -0.1837174007832298, 0.5468790705112972, -0.7000218619532391, -0.15593368695978171, -0.5523599335225629]),  # noqa: E501
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True, "betas": (0.8, 0.9)}, [-0.42039396227001524, -0.10648903872029368, 0.5220027713933149, -0.5952271087634343, -0.028504259045267044, -0.4025627864262157]),  # noqa: E501
    ("RMSprop", {"lr": 0.01}, [-0.45542022385206593, -0.00016100975610837398, 0.6039625131794102, -0.5552522933389081, -0.02533842242304999, -0.47787759630816656]),  # noqa: E501
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}, [-1.5194470098396133, 0.06340345122628037, 0.42901356884258446, -0.8276818268599005, 0.3286249163891175, 0.1288037776007949]),  # noqa: E501
]
SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}, [-0.5262971771742874, -0.18787131876725555, 0.6023836164560333, -0.3535789182474309, -0.015884280704278008, -0.16454036856610643]),  # noqa: E501
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.001}, [-0.8332853764789916, 0.3244648694509272, 1.1356440737078535, -0.4888839963727043, 1.4255628797016422, 0.5374518651031264]),  # noqa: E501
]


def _problem():
    rng = np.random.default_rng(0)
    w0, b0, x = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(7, 5))
    return cr.nn.Parameter(w0), cr.nn.Parameter(b0), cr.tensor(x)


def _loss(w, b, x):
    return (cr.tanh(x @ w + b) ** 2).sum()


def _train(make_opt, make_sched=None, steps=12, params=None):
    w, b, x = params or _problem()
    opt = make_opt([w, b])
    sched = make_sched(opt) if make_sched else None
    for _ in range(steps):
        opt.zero_grad()
        _loss(w, b, x).backward()
        opt.step()
        if sched:
            sched.step()
    return w, b, opt, sched


@pytest.mark.parametrize("name,kwargs,expected", REFERENCE, ids=lambda v: str(v)[:40])
def test_optimizer_matches_pytorch(name, kwargs, expected):
    w, b, _, _ = _train(lambda p: getattr(cr.optim, name)(p, **kwargs))
    np.testing.assert_allclose(np.concatenate([w.data[0], b.data]), expected, rtol=1e-12,
                               atol=1e-13)


@pytest.mark.parametrize("name,kwargs,expected", SCHEDULES, ids=lambda v: str(v)[:20])
def test_scheduler_matches_pytorch(name, kwargs, expected):
    sched_cls = getattr(cr.optim.lr_scheduler, name)
    w, b, _, _ = _train(lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9),
                        lambda o: sched_cls(o, **kwargs))
    np.testing.assert_allclose(np.concatenate([w.data[0], b.data]), expected, rtol=1e-12,
                               atol=1e-13)


def test_sgd_one_step_by_hand():
    p = cr.nn.Parameter(np.array([1.0, -2.0]))
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad = cr.tensor([0.2, 0.4])
    opt.step()  # g = grad + 0.5 p = (0.7, -0.6); buf = g; p -= 0.1 g
    np.testing.assert_allclose(p.data, [0.93, -1.94])
    p.grad = cr.tensor([0.0, 0.0])
    opt.step()  # g = 0.5 p = (0.465, -0.97); buf = 0.9 (0.7, -0.6) + g
    np.testing.assert_allclose(p.data, [0.93 - 0.1 * (0.63 + 0.465), -1.94 - 0.1 * (-0.54 - 0.97)])


def test_adam_first_step_moves_each_weight_by_lr():
    # After one step the bias-corrected ratio m / sqrt(v) is sign(g): every weight moves lr.
    p = cr.nn.Parameter(np.array([1.0, 2.0, 3.0]))
    opt = cr.optim.Adam([p], lr=0.01)
    p.grad = cr.tensor([5.0, -0.001, 300.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.99, 2.01, 2.99], rtol=1e-6)
    assert opt.state[p]["step"] == 1


def test_adamw_decays_weights_even_without_gradient_signal():
    p = cr.nn.Parameter(np.array([2.0]))
    opt = cr.optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = cr.tensor([0.0])
    opt.step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.05)])


def test_float32_parameters_stay_float32():
    p = cr.nn.Parameter(np.ones(3, np.float32))
    for opt in (cr.optim.SGD([p], lr=0.1, momentum=0.9), cr.optim.Adam([p]),
                cr.optim.RMSprop([p], centered=True)):
        p.grad = cr.tensor(np.ones(3, np.float32))
        opt.step()
        assert p.data.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))


def test_updates_are_in_place_and_skip_missing_grads():
    a, b = cr.nn.Parameter(np.ones(2)), cr.nn.Parameter(np.ones(2))
    data_a = a.data
    opt = cr.optim.SGD([a, b], lr=1.0)
    a.grad = cr.tensor([1.0, 2.0])
    opt.step()
    assert a.data is data_a
    np.testing.assert_array_equal(a.data, [0.0, -1.0])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    opt.zero_grad()
    assert a.grad is None
    a.grad = cr.tensor([3.0, 3.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])


def test_param_groups_have_their_own_lr():
    a, b = cr.nn.Parameter(np.ones(1)), cr.nn.Parameter(np.ones(1))
    opt = cr.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = cr.tensor([1.0]), cr.tensor([1.0])
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]


def test_bad_arguments_are_refused():
    p = cr.nn.Parameter(np.ones(1))
    with pytest.raises(TypeError, match="iterable"):
        cr.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        cr.optim.Adam([])
    with pytest.raises(ValueError, match="lr"):
        cr.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        cr.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        cr.optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="more than one"):
        cr.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_state_dict_round_trip_through_a_file_resumes_exactly(name, tmp_path):
    kwargs = {"lr": 0.05, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.05}
    make = lambda p: getattr(cr.optim, name)(p, **kwargs)
    # 12 steps in one go ...
    w_ref, b_ref, _, _ = _train(make, steps=12)
    # ... equal 5 steps, a save of model and optimizer, a fresh start from the file, 7 steps.
    w, b, opt, _ = _train(make, steps=5)
    cr.save({"w": w, "b": b, "optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")
    state = cr.load(tmp_path / "ckpt.npz")
    w2, b2, x = _problem()
    w2.data[...], b2.data[...] = state["w"], state["b"]
    opt2 = make([w2, b2])
    opt2.load_state_dict(state["optimizer"])
    for _ in range(7):
        opt2.zero_grad()
        _loss(w2, b2, x).backward()
        opt2.step()
    np.testing.assert_array_equal(w2.data, w_ref.data)
    np.testing.assert_array_equal(b2.data, b_ref.data)


def test_load_state_dict_checks_shapes_and_groups():
    w, b, opt, _ = _train(lambda p: cr.optim.Adam(p), steps=1)
    state = opt.state_dict()
    other = cr.optim.Adam([cr.nn.Parameter(np.ones(4)), cr.nn.Parameter(np.ones(3))])
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="groups"):
        cr.optim.Adam([{"params": [w]}, {"params": [b]}]).load_state_dict(state)


def test_scheduler_values_and_state():
    p = cr.nn.Parameter(np.ones(1))
    opt = cr.optim.SGD([p], lr=1.0)
    step = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        lrs.append(step.get_last_lr()[0])
        step.step()
    np.testing.assert_allclose(lrs, [1, 1, 0.1, 0.1, 0.01])
    opt2 = cr.optim.SGD([p], lr=0.2)
    cos = cr.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=4, eta_min=0.0)
    lrs = [cos.get_last_lr()[0]]
    for _ in range(4):
        cos.step()
        lrs.append(opt2.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.2, 0.2 * (1 + math.sqrt(0.5)) / 2, 0.1,
                                     0.2 * (1 - math.sqrt(0.5)) / 2, 0.0], atol=1e-15)
    resumed = cr.optim.lr_scheduler.CosineAnnealingLR(cr.optim.SGD([p], lr=0.2), T_max=4)
    resumed.load_state_dict(cos.state_dict())
    assert resumed.last_epoch == 4 and resumed.get_last_lr() == cos.get_last_lr()


def test_clip_grad_norm():
    a, b = cr.nn.Parameter(np.zeros(2)), cr.nn.Parameter(np.zeros(1))
    a.grad, b.grad = cr.tensor([3.0, 0.0]), cr.tensor([4.0])
    norm = cr.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert float(norm) == 5.0
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.data, [3 * scale, 0.0])
    np.testing.assert_allclose(b.grad.data, [4 * scale])
    # Under the limit nothing changes; inf-norm is the largest entry.
    a.grad, b.grad = cr.tensor([0.3, -0.4]), cr.tensor([0.1])
    assert float(cr.nn.utils.clip_grad_norm_([a, b], 2.0)) == pytest.approx(math.sqrt(0.26))
    np.testing.assert_array_equal(a.grad.data, [0.3, -0.4])
    assert float(cr.nn.utils.clip_grad_norm_([a, b], 10.0, norm_type=math.inf)) == 0.4
    assert float(cr.nn.utils.clip_grad_norm_([a, b], 1.0, norm_type=1)) == pytest.approx(0.8)
    b.grad = cr.tensor([np.nan])
    with pytest.raises(RuntimeError, match="non-finite"):
        cr.nn.utils.clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)


def test_training_a_model_lowers_the_loss():
    cr.nn.init.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(4, 16), cr.nn.Tanh(), cr.nn.Linear(16, 1)).double()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4))
    y = np.sin(x.sum(axis=1, keepdims=True))
    opt = cr.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = cr.nn.functional.mse_loss(model(x), y)
        loss.backward()
        cr.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.05 * losses[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.1, "amsgrad": True},
                                    {"maximize": True}], ids=str)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_in_place_step_equals_the_functional_rule_bit_for_bit(name, kwargs, dtype):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5, 3)).astype(dtype)
    p = cr.nn.Parameter(w0.copy())
    opt = getattr(cr.optim, name)([p], lr=0.05, **kwargs)
    q = [cr.tensor(w0.copy())]
    state = opt.init(q)
    for _ in range(4):
        g = rng.normal(size=(5, 3)).astype(dtype)
        p.grad = cr.tensor(g)
        opt.step()
        q, state = opt.update(q, [cr.tensor(g)], state)
    assert p.data.dtype == dtype and opt.state[p]["exp_avg"].dtype == dtype
    np.testing.assert_array_equal(p.data, q[0].data)
    np.testing.assert_array_equal(opt.state[p]["exp_avg_sq"], state[0]["exp_avg_sq"].data)
