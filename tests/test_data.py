"""cr.data: the loader, the bundled digits, IDX files and .npz arrays."""

import gzip

import numpy as np
import pytest

import chainrule as cr


def test_loader_batches_in_order_with_last_partial_batch():
    x, y = np.arange(10 * 2).reshape(10, 2), np.arange(10)
    loader = cr.data.DataLoader((x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert all(isinstance(t, cr.Tensor) for b in batches for t in b)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    np.testing.assert_array_equal(batches[2][0].data, x[8:])


def test_drop_last_and_single_array():
    loader = cr.data.DataLoader(np.arange(10), batch_size=4, drop_last=True)
    batches = list(loader)
    assert len(loader) == 2
    assert [b.data.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_seeded_and_changes_every_epoch():
    x, y = np.arange(20) * 10, np.arange(20)
    a = cr.data.DataLoader((x, y), batch_size=6, shuffle=True, seed=3)
    b = cr.data.DataLoader((x, y), batch_size=6, shuffle=True, seed=3)
    epoch1 = [yb.data.tolist() for _, yb in a]
    epoch2 = [yb.data.tolist() for _, yb in a]
    assert epoch1 == [yb.data.tolist() for _, yb in b]          # same seed, same batches
    assert epoch2 == [yb.data.tolist() for _, yb in b]
    assert epoch1 != epoch2                                      # a new order each epoch
    assert sorted(sum(epoch1, [])) == list(range(20))            # each sample once
    for xb, yb in a:                                             # pairs stay aligned
        np.testing.assert_array_equal(xb.data, yb.data * 10)
    c = cr.data.DataLoader((x, y), batch_size=6, shuffle=True, seed=4)
    assert [yb.data.tolist() for _, yb in c] != epoch1


def test_loader_refuses_misaligned_arrays():
    with pytest.raises(ValueError, match="same number of samples"):
        cr.data.DataLoader((np.ones((5, 2)), np.ones(4)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        cr.data.DataLoader(np.ones(3), batch_size=0)


def test_load_digits():
    images, labels = cr.data.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert sorted(set(labels.tolist())) == list(range(10))
    assert np.bincount(labels).min() >= 170
    x32, _ = cr.data.load_digits(np.float32)
    assert x32.dtype == np.float32
    from sklearn.datasets import load_digits  # the same data as scikit-learn's loader
    bunch = load_digits()
    np.testing.assert_array_equal(images * 16, bunch.images)
    np.testing.assert_array_equal(labels, bunch.target)


def test_train_test_split_is_fixed_by_the_seed():
    x, y = np.arange(50) * 2, np.arange(50)
    xtr, xte, ytr, yte = cr.data.train_test_split(x, y, test_size=0.2, seed=0)
    assert len(xte) == 10 and len(xtr) == 40
    np.testing.assert_array_equal(xtr, ytr * 2)
    assert sorted(np.concatenate([ytr, yte]).tolist()) == list(range(50))
    again = cr.data.train_test_split(x, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[3], yte)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) % 100).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / f"data-idx3-ubyte{suffix}"
    cr.data.write_idx(path, array)
    back = cr.data.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_read_idx_of_a_hand_made_mnist_file(tmp_path):
    # The bytes MNIST's label files start with: magic 0x00000801, count, then labels.
    raw = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1])
    (tmp_path / "labels-idx1-ubyte").write_bytes(raw)
    (tmp_path / "labels.gz").write_bytes(gzip.compress(raw))
    for name in ("labels-idx1-ubyte", "labels.gz"):
        labels = cr.data.read_idx(tmp_path / name)
        assert labels.dtype == np.uint8
        assert labels.tolist() == [7, 2, 1]
    # images: magic 0x00000803, 2 images of 2x3, big-endian dims
    raw = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2, 2, 3)) \
        + bytes(range(12))
    (tmp_path / "img").write_bytes(raw)
    np.testing.assert_array_equal(cr.data.read_idx(tmp_path / "img"),
                                  np.arange(12).reshape(2, 2, 3))
    # big-endian floats are decoded to native order
    raw = bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big") + np.array([1.5, -2], ">f4").tobytes()
    (tmp_path / "f").write_bytes(raw)
    np.testing.assert_array_equal(cr.data.read_idx(tmp_path / "f"), [1.5, -2.0])


def test_read_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        cr.data.read_idx(tmp_path / "missing")
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        cr.data.read_idx(tmp_path / "bad")
    raw = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes([1, 2])
    (tmp_path / "short").write_bytes(raw)
    with pytest.raises(ValueError, match="holds 10 bytes"):
        cr.data.read_idx(tmp_path / "short")
    (tmp_path / "badgz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match="gzip"):
        cr.data.read_idx(tmp_path / "badgz")
    with pytest.raises(TypeError, match="IDX stores"):
        cr.data.write_idx(tmp_path / "c", np.ones(2, np.complex64))


def test_load_images_from_npz_idx_and_mnist_folder(tmp_path):
    x = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    y = np.array([0, 1, 2, 1], np.uint8)
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    xs, ys, xt, yt = cr.data.load_images(tmp_path / "xy.npz")
    np.testing.assert_array_equal(xs, x)
    assert xt is None and yt is None
    np.savez(tmp_path / "split.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    assert cr.data.load_images(tmp_path / "split.npz")[2].shape == (2, 3, 3)
    cr.data.write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    cr.data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y)
    xs, ys, _, _ = cr.data.load_images(tmp_path / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(ys, y)
    cr.data.write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:2])
    cr.data.write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:2])
    parts = cr.data.load_images(tmp_path)
    assert [p.shape for p in parts] == [(4, 3, 3), (4,), (2, 3, 3), (2,)]
    np.savez(tmp_path / "other.npz", a=x)
    with pytest.raises(ValueError, match="expected x_train"):
        cr.data.load_images(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="labels"):
        cr.data.write_idx(tmp_path / "lonely-idx3-ubyte", x)
        cr.data.load_images(tmp_path / "lonely-idx3-ubyte")


# ----- map-style datasets ------------------------------------------------------------------

class Squares(cr.data.Dataset):
    """A dataset written by a user: sample i is (the vector [i, i], i squared)."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.array([i, i], dtype=np.float32), i * i


def test_dataloader_over_any_map_style_dataset():
    batches = list(cr.data.DataLoader(Squares(), batch_size=4))
    assert len(batches) == 3
    x, y = batches[0]
    assert isinstance(x, cr.Tensor) and x.shape == (4, 2) and x.dtype == np.float32
    assert y.data.tolist() == [0, 1, 4, 9] and batches[-1][1].data.tolist() == [64, 81]
    assert len(list(cr.data.DataLoader(Squares(), 4, drop_last=True))) == 2


def test_seeded_shuffle_is_reproducible_and_covers_every_sample():
    def epochs(seed):
        loader = cr.data.DataLoader(Squares(), 3, shuffle=True, seed=seed)
        return [[int(v) for b in loader for v in b[1].data] for _ in range(2)]

    a, b = epochs(7), epochs(7)
    assert a == b and a[0] != a[1]  # same seed, same order; a new order every epoch
    assert sorted(a[0]) == [i * i for i in range(10)]
    assert epochs(8) != a


def test_collate_fn_gets_the_list_of_samples():
    loader = cr.data.DataLoader(Squares(), 5, collate_fn=lambda samples: len(samples))
    assert list(loader) == [5, 5]
    words = cr.data.DataLoader([{"w": "a", "n": 1.5}, {"w": "b", "n": 2.5}], 2)
    (batch,) = list(words)
    assert batch["w"] == ["a", "b"] and batch["n"].data.tolist() == [1.5, 2.5]
    assert [b.data.tolist() for b in cr.data.DataLoader([1.0, 2.0, 3.0], 2)] == [[1, 2], [3]]


def test_tensor_dataset_subset_and_random_split():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = cr.data.TensorDataset(x, y)
    assert len(ds) == 10 and ds[3][1] == 3 and ds[3][0].tolist() == [6.0, 7.0]
    train, test = cr.data.random_split(ds, [0.8, 0.2], seed=0)
    assert (len(train), len(test)) == (8, 2)
    assert sorted(np.concatenate([train.indices, test.indices]).tolist()) == list(range(10))
    assert [s.indices.tolist() for s in cr.data.random_split(ds, [8, 2], seed=0)] == \
        [train.indices.tolist(), test.indices.tolist()]
    # A loader over a subset batches the arrays directly, with the subset's order.
    (xb, yb), = list(cr.data.DataLoader(test, batch_size=2))
    assert yb.data.tolist() == test.indices.tolist()
    np.testing.assert_array_equal(xb.data, x[test.indices])
    sub = cr.data.Subset(cr.data.Subset(ds, [9, 8, 7, 6]), [-1, 0])
    assert [int(b[1].data[0]) for b in cr.data.DataLoader(sub, 1)] == [6, 9]
    assert [s[1] for s in sub] == [6, 9]
    assert [len(s) for s in cr.data.random_split(Squares(), [1 / 3, 1 / 3, 1 / 3])] == [4, 3, 3]


def test_dataset_mistakes_are_clear():
    with pytest.raises(ValueError, match="sum to 9, not to the dataset's 10"):
        cr.data.random_split(Squares(), [5, 4])
    with pytest.raises(ValueError, match="must sum to 1"):
        cr.data.random_split(Squares(), [0.5, 0.2])
    with pytest.raises(ValueError, match="same number of samples"):
        cr.data.TensorDataset(np.ones(3), np.ones(4))
    with pytest.raises(IndexError, match=r"indices must lie in \[-10, 10\)"):
        cr.data.Subset(Squares(), [10])
    with pytest.raises(TypeError, match="expected a dataset"):
        cr.data.DataLoader(5)
    with pytest.raises(ValueError, match="different shapes"):
        list(cr.data.DataLoader([np.ones(2), np.ones(3), 1.0], 3))
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        cr.data.Dataset()[0]
