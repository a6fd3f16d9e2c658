"""cr.save / cr.load: nested state in one .npz, no pickle, atomic writes."""

import os
import pickle

import numpy as np
import pytest

import chainrule as cr


def test_round_trip_of_nested_state(tmp_path):
    state = {
        "model": {"0.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
                  "0.bias": cr.tensor([1.0, 2.0])},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones(3)}},
                      "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1],
                                        "amsgrad": False, "note": None}]},
        "epoch": 7, "name": "mlp", "nan": float("nan"), "ints": np.arange(3, dtype=np.int8),
        "list": [1, 2.5, "x"], "np_scalar": np.float32(0.5),
    }
    path = tmp_path / "state.npz"
    cr.save(state, path)
    back = cr.load(path)
    assert back["model"]["0.weight"].dtype == np.float32
    np.testing.assert_array_equal(back["model"]["0.weight"], state["model"]["0.weight"])
    np.testing.assert_array_equal(back["model"]["0.bias"], [1.0, 2.0])
    assert back["optimizer"]["state"][0]["step"] == 3          # int keys stay ints
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["exp_avg"], np.ones(3))
    assert back["optimizer"]["param_groups"] == [
        {"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False, "note": None}]
    assert back["epoch"] == 7 and back["name"] == "mlp" and np.isnan(back["nan"])
    assert back["ints"].dtype == np.int8 and back["list"] == [1, 2.5, "x"]
    assert back["np_scalar"] == 0.5
    # The arrays are ordinary members, readable by NumPy alone without pickle.
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["model/0.weight"], state["model"]["0.weight"])


def test_model_and_optimizer_state_round_trip(tmp_path):
    cr.nn.init.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    loss = model(np.ones((5, 3), np.float32)).sum()
    loss.backward()
    opt.step()
    cr.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "m.npz")
    cr.nn.init.manual_seed(1)
    model2 = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    opt2 = cr.optim.Adam(model2.parameters(), lr=0.5)
    state = cr.load(tmp_path / "m.npz")
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(opt.state[p]["exp_avg"], opt2.state[q]["exp_avg"])
    assert opt2.param_groups[0]["lr"] == 0.01


def test_a_plain_npz_loads_as_a_dict_of_arrays(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.ones((2, 2)), y=np.arange(2))
    back = cr.load(tmp_path / "plain.npz")
    assert sorted(back) == ["x", "y"]
    np.testing.assert_array_equal(back["y"], [0, 1])


def test_pickled_files_are_refused(tmp_path):
    np.savez(tmp_path / "objects.npz", a=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled Python objects"):
        cr.load(tmp_path / "objects.npz")
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump({"w": np.ones(2)}, f)
    with pytest.raises(ValueError, match="refuses to unpickle"):
        cr.load(tmp_path / "model.pkl")


def test_unreadable_files_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        cr.load(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(ValueError, match="not an .npz"):
        cr.load(tmp_path / "text.npz")
    np.save(tmp_path / "one.npy", np.ones(2))
    with pytest.raises(ValueError, match="single .npy"):
        cr.load(tmp_path / "one.npy")


def test_objects_that_need_pickle_are_not_saved(tmp_path):
    with pytest.raises(TypeError, match="without pickle"):
        cr.save({"f": lambda: 1}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="objects"):
        cr.save({"a": np.array([None, 1], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys"):
        cr.save({(1, 2): 1}, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)  # nothing half-written


def test_a_failed_save_leaves_the_existing_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    cr.save({"w": np.ones(3)}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # the temporary file is gone
    np.testing.assert_array_equal(cr.load(path)["w"], np.ones(3))


def test_save_into_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cr.save({"w": np.ones(1)}, tmp_path / "nope" / "m.npz")
