"""The examples run end to end (``--smoke``) on cpu and on the simulated cuda device, and the
MNIST IDX loader reads real IDX files (written here, tiny)."""
import gzip
import os
import struct
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)

import datasets  # noqa: E402


def _write_idx(path, arr: np.ndarray, gz: bool) -> None:
    code = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}[arr.dtype.type]
    head = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(head + body)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    p = tmp_path / ("imgs.gz" if gz else "imgs")
    _write_idx(p, imgs, gz)
    np.testing.assert_array_equal(datasets.read_idx(str(p)), imgs)
    f = np.arange(6, dtype=np.float32).reshape(2, 3)
    _write_idx(tmp_path / "f", f, False)
    np.testing.assert_array_equal(datasets.read_idx(str(tmp_path / "f")), f)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(str(bad))
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 10) + b"\x00" * 3)
    with pytest.raises(ValueError, match="declares shape"):
        datasets.read_idx(str(short))


def _write_mnist(folder, n_train=6, n_test=4, gz=True):
    rng = np.random.default_rng(1)
    for split, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(folder / f"{split}-images-idx3-ubyte{'.gz' if gz else ''}",
                   rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), gz)
        _write_idx(folder / f"{split}-labels-idx1-ubyte{'.gz' if gz else ''}",
                   rng.integers(0, 10, (n,)).astype(np.uint8), gz)


def test_load_mnist(tmp_path):
    _write_mnist(tmp_path)
    x_tr, y_tr, x_te, y_te = datasets.load_mnist(str(tmp_path))
    assert x_tr.shape == (6, 1, 28, 28) and x_tr.dtype == np.float32
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    assert y_te.shape == (4,) and y_te.dtype == np.int64


def test_train_cnn_smoke(device, tmp_path):
    import train_cnn
    ckpt = tmp_path / "cnn.ckpt"
    args = ["--smoke", "--device", device, "--checkpoint", str(ckpt), "--plot",
            str(tmp_path / "loss.png")]
    acc = train_cnn.main(args)
    assert 0.0 <= acc <= 1.0
    assert ckpt.exists() and (tmp_path / "loss.png").exists()
    train_cnn.main(args + ["--epochs", "2"])  # resumes from the checkpoint at epoch 1


def test_train_cnn_on_mnist_files(tmp_path):
    import train_cnn
    _write_mnist(tmp_path, gz=False)
    acc = train_cnn.main(["--smoke", "--device", "cpu", "--dataset", "mnist", "--data-dir",
                          str(tmp_path), "--plot", ""])
    assert 0.0 <= acc <= 1.0


def test_train_lstm_smoke(device):
    import train_lstm
    assert 0.0 <= train_lstm.main(["--smoke", "--device", device]) <= 1.0


def test_regression_smoke(device):
    import regression
    lin, acc, hand = regression.main(["--smoke", "--device", device])
    assert np.isfinite(lin) and np.isfinite(hand) and 0.0 <= acc <= 1.0
