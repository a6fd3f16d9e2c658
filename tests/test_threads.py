"""Grad mode, the transform stack and anomaly detection are per thread (DESIGN property 9)."""

import threading

import numpy as np

import chainrule as cr


def _run_threads(target, n=4):
    errors, threads = [], []

    def guarded(i):
        try:
            target(i)
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            errors.append(err)

    for i in range(n):
        threads.append(threading.Thread(target=guarded, args=(i,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_four_threads_backpropagating_at_once_get_right_gradients():
    def work(i):
        rng = np.random.default_rng(i)
        for _ in range(200):
            x = cr.tensor(rng.standard_normal(5), requires_grad=True)
            y = cr.sum(cr.sin(x) * x)
            y.backward()
            np.testing.assert_allclose(x.grad.data, np.cos(x.data) * x.data + np.sin(x.data))

    _run_threads(work)


def test_a_no_grad_inference_thread_does_not_break_a_training_thread():
    stop = threading.Event()

    def inference(_):
        w = cr.tensor(np.ones(3), requires_grad=True)
        while not stop.is_set():
            with cr.no_grad():
                assert not (w * 2).requires_grad

    def training(_):
        try:
            w = cr.tensor(np.ones(3), requires_grad=True)
            for _ in range(1000):
                loss = cr.sum(w * w)
                assert loss.requires_grad
                w.grad = None
                loss.backward()
                assert w.grad.data.tolist() == [2.0, 2.0, 2.0]
        finally:
            stop.set()

    _run_threads(lambda i: (inference if i else training)(i), n=2)
    assert cr.is_grad_enabled()  # grad mode of this thread untouched


def test_racing_transforms_stay_apart():
    def work(i):
        x = np.array([1.0, 2.0, 3.0]) * (i + 1)
        for _ in range(100):
            hv = cr.hvp(lambda t: cr.sum(t ** 3), (x,), (np.ones(3),))
            np.testing.assert_allclose(hv.data, 6 * x)
            g = cr.grad(lambda t: cr.sum(t * cr.grad(lambda s: cr.sum(s * t))(t)))(x)
            np.testing.assert_allclose(g.data, 2 * x)

    _run_threads(work)
