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


# ----- hostile and damaged files: one clear ValueError each, nothing allocated blindly ----

import io as _io  # noqa: E402
import json  # noqa: E402
import zipfile  # noqa: E402


def _npz(path, members: dict, meta=None):
    """An .npz written by hand: members name -> bytes (or arrays), plus a description."""
    with zipfile.ZipFile(path, "w") as zf:
        if meta is not None:
            buf = _io.BytesIO()
            np.save(buf, np.array(meta if isinstance(meta, str) else json.dumps(meta)))
            zf.writestr("__chainrule__.npy", buf.getvalue())
        for name, value in members.items():
            if isinstance(value, np.ndarray):
                buf = _io.BytesIO()
                np.save(buf, value)
                value = buf.getvalue()
            zf.writestr(name, value)
    return path


@pytest.mark.parametrize("meta, message", [
    ("{not json", "damaged"),
    ({"format": 1}, "has no 'tree'"),
    ({"format": 99, "tree": None}, "format 99"),
    ({"format": 1, "tree": {"$array": "missing"}}, "array missing is not in the archive"),
    ({"format": 1, "tree": {"$dict": [[1, 2, 3]]}}, "is not a \\[key, value\\] pair"),
    ({"format": 1, "tree": {"$dict": [[[1], 2]]}}, "is not a \\[key, value\\] pair"),
    ({"format": 1, "tree": {"$list": 5}}, "holds a int"),
    ({"format": 1, "tree": {"$evil": []}}, "unexpected entry"),
    ({"format": 1, "tree": [1, 2]}, "unexpected entry"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_hostile_descriptions_are_one_clear_error(tmp_path, meta, message):
    path = _npz(tmp_path / "x.npz", {"w.npy": np.ones(2)}, meta)
    with pytest.raises(ValueError, match=message) as err:
        cr.load(path)
    assert str(err.value).startswith(f"load: {path}") and "\n" not in str(err.value)


def test_deep_but_legal_nesting_round_trips_without_recursion(tmp_path):
    state = leaf = []
    for _ in range(80):  # 240 levels, within MAX_DEPTH
        leaf.append(({"k": []},))
        leaf = leaf[0][0]["k"]
    cr.save(state, tmp_path / "deep.npz")
    assert cr.load(tmp_path / "deep.npz") == state


def test_declared_sizes_are_checked_against_the_archive(tmp_path):
    header = _io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (2**28,)})  # 2 GiB declared
    path = _npz(tmp_path / "liar.npz", {"w.npy": header.getvalue() + b"\0" * 64})
    with pytest.raises(ValueError, match=r"declares shape \(268435456,\).*holds 64"):
        cr.load(path)


def test_a_size_limit_caps_what_load_allocates(tmp_path):
    path = tmp_path / "big.npz"
    np.savez_compressed(path, w=np.zeros(2**20))  # 8 MiB of zeros in ~8 kB
    assert os.path.getsize(path) < 100_000
    with pytest.raises(ValueError, match="would allocate 8.0 MiB, more than max_bytes=1,000,000"):
        cr.load(path, max_bytes=1_000_000)
    assert cr.load(path, max_bytes=None)["w"].shape == (2**20,)
    assert cr.io.MAX_BYTES == 2**30  # the default: 1 GiB


def test_damaged_archives_are_one_clear_error(tmp_path):
    good = tmp_path / "good.npz"
    cr.save({"w": np.arange(1000.0)}, good)
    raw = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    flipped = bytearray(raw)
    flipped[200] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    # An unknown compression method (97) in the local and central headers.
    odd = bytearray(raw)
    for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = odd.find(sig)
        while at != -1:
            odd[at + offset:at + offset + 2] = (97).to_bytes(2, "little")
            at = odd.find(sig, at + 4)
    (tmp_path / "method.npz").write_bytes(bytes(odd))
    _npz(tmp_path / "extra.npz", {"w.npy": np.ones(2), "notes.txt": b"hi"})
    for name in ("cut", "flipped", "method", "extra"):
        with pytest.raises(ValueError, match=f"load: .*{name}.npz") as err:
            cr.load(tmp_path / f"{name}.npz")
        assert "\n" not in str(err.value), name


def test_saving_a_container_that_holds_itself_is_a_clear_error(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested more than 256 levels"):
        cr.save({"x": loop}, tmp_path / "loop.npz")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        cr.save({"w": 1}, tmp_path)
    assert os.listdir(tmp_path) == []


def test_load_state_dict_refuses_hostile_values():
    lin = cr.nn.Linear(2, 3)
    with pytest.raises(TypeError, match="expected a dict of arrays"):
        lin.load_state_dict([1, 2])
    with pytest.raises(ValueError, match="'weight': expected numbers, got an array of dtype <U"):
        lin.load_state_dict({"weight": np.array([["a"] * 2] * 3), "bias": np.zeros(3)})
    with pytest.raises(ValueError, match="'weight': expected numbers"):
        lin.load_state_dict({"weight": {"nested": 1}, "bias": np.zeros(3)})
    with pytest.raises(KeyError) as err:  # still a KeyError, and also a ValueError
        lin.load_state_dict({"weight": np.zeros((3, 2))})
    assert isinstance(err.value, ValueError)
    assert str(err.value) == ("load_state_dict: Linear state does not match: missing keys: "
                              "['bias']")
    before = lin.weight.data.copy()
    with pytest.raises(ValueError, match="expected shape"):
        lin.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(4)})
    np.testing.assert_array_equal(lin.weight.data, before)  # nothing copied
