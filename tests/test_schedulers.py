"""The new learning-rate schedules against PyTorch 2.13's values (pasted below, made by a
one-off script: lr and momentum/beta1 before each step)."""

import math

import numpy as np
import pytest

import chainrule as cr

L = cr.optim.lr_scheduler

# fmt: off
REFERENCE = {"linear": [[0.025, 0.9],
    [0.043750000000000004, 0.9],
    [0.06250000000000001, 0.9],
    [0.08125000000000002, 0.9],
    [0.10000000000000002, 0.9],
    [0.10000000000000002, 0.9],
    [0.10000000000000002, 0.9]], "exponential": [[0.1, 0.9],
    [0.08000000000000002, 0.9],
    [0.06400000000000002, 0.9],
    [0.051200000000000016, 0.9],
    [0.04096000000000002, 0.9]], "lambda": [[0.1, 0.9],
    [0.05, 0.9],
    [0.03333333333333333, 0.9],
    [0.025, 0.9],
    [0.020000000000000004, 0.9]], "sequential": [[0.010000000000000002, 0.9],
    [0.04, 0.9],
    [0.07, 0.9],
    [0.1, 0.9],
    [0.08535533905932738, 0.9],
    [0.05, 0.9],
    [0.014644660940672627, 0.9],
    [0.0, 0.9],
    [0.014644660940672622, 0.9]], "onecycle_sgd": [[0.040000000000000036, 0.95],
    [0.52, 0.8999999999999999],
    [1.0, 0.85],
    [0.9504846320134737, 0.854951556604879],
    [0.8117456539497631, 0.8688255099070633],
    [0.6112620219362893, 0.8888739533021842],
    [0.38874197806371075, 0.9111260466978157],
    [0.18825834605023697, 0.9311744900929366],
    [0.049519367986526286, 0.945048443395121],
    [4e-06, 0.95]], "onecycle_adam_linear": [[0.02, 0.95],
    [0.5, 0.85],
    [0.416667, 0.8666666666666667],
    [0.333334, 0.8833333333333333],
    [0.25000100000000003, 0.8999999999999999],
    [0.16666800000000004, 0.9166666666666666],
    [0.08333499999999999, 0.9333333333333333],
    [2.000000000002e-06, 0.95]], "onecycle_three": [[0.040000000000000036, 0.95],
    [0.3497896542195831, 0.9177302443521267],
    [0.8792851591221287, 0.8625744625914449],
    [0.9450188923135407, 0.8557271987173395],
    [0.4621423934774446, 0.9060268340127662],
    [0.05394792763549498, 0.9485470908713025],
    [0.0381516932425798, 0.95],
    [0.031224618933116923, 0.95],
    [0.02108466989389118, 0.95],
    [0.010634768002885594, 0.95],
    [0.0028665701910005545, 0.95],
    [4e-06, 0.95]], "plateau": [[0.1, 0.9],
    [0.1, 0.9],
    [0.1, 0.9],
    [0.1, 0.9],
    [0.05, 0.9],
    [0.05, 0.9],
    [0.05, 0.9],
    [0.025, 0.9],
    [0.025, 0.9],
    [0.025, 0.9]]}
# fmt: on


def _run(make, steps, kind="sgd", metric=None):
    p = cr.nn.Parameter(np.zeros(1))
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9) if kind == "sgd" else cr.optim.Adam([p], lr=0.1)
    sched = make(opt)
    out = []
    for i in range(steps):
        g = opt.param_groups[0]
        out.append((g["lr"], g.get("momentum", g.get("betas", (None,))[0])))
        p.grad = cr.tensor(np.zeros(1))
        opt.step()
        sched.step(metric[i]) if metric else sched.step()
    return out


CASES = {
    "linear": lambda: _run(lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0,
                                                total_iters=4), 7),
    "exponential": lambda: _run(lambda o: L.ExponentialLR(o, gamma=0.8), 5),
    "lambda": lambda: _run(lambda o: L.LambdaLR(o, lambda e: 1 / (1 + e)), 5),
    "sequential": lambda: _run(lambda o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=3), L.CosineAnnealingLR(o, T_max=4)],
        milestones=[3]), 9),
    "onecycle_sgd": lambda: _run(lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=10), 10),
    "onecycle_adam_linear": lambda: _run(lambda o: L.OneCycleLR(
        o, max_lr=0.5, total_steps=8, anneal_strategy="linear", pct_start=0.25), 8, "adam"),
    "onecycle_three": lambda: _run(lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=12,
                                                          three_phase=True), 12),
    "plateau": lambda: _run(lambda o: L.ReduceLROnPlateau(o, factor=0.5, patience=1,
                                                          cooldown=1), 10,
                            metric=[5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4]),
}


@pytest.mark.parametrize("name", CASES)
def test_schedule_matches_pytorch(name):
    got = CASES[name]()
    want = REFERENCE[name]
    assert len(got) == len(want)
    for (lr, m), (lr_ref, m_ref) in zip(got, want):
        assert math.isclose(lr, lr_ref, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(m, m_ref, rel_tol=1e-12)


def test_onecycle_refuses_to_step_past_its_end():
    p = cr.nn.Parameter(np.zeros(1))
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = L.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="beyond total_steps=3"):
        sched.step()


def test_sequential_state_round_trips():
    p = cr.nn.Parameter(np.zeros(1))
    opt = cr.optim.SGD([p], lr=0.1)
    make = lambda o: L.SequentialLR(o, [L.LinearLR(o, total_iters=2),  # noqa: E731
                                        L.ExponentialLR(o, gamma=0.5)], milestones=[2])
    a = make(opt)
    for _ in range(4):
        a.step()
    opt2 = cr.optim.SGD([cr.nn.Parameter(np.zeros(1))], lr=0.1)
    b = make(opt2)
    b.load_state_dict(a.state_dict())
    a.step()
    b.step()
    assert a.get_last_lr() == b.get_last_lr()
