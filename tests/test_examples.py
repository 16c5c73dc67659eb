"""The examples run end to end (``--smoke``) on cpu and on the simulated cuda device, learn
(short seeded cpu runs: loss falls, accuracy well above chance), keep their outputs under
``runs/<example>/`` (smoke runs in ``runs/<example>/smoke/``), document every option in
``--help``, and the MNIST IDX loader reads real IDX files (written here, tiny)."""
import argparse
import gzip
import os
import struct
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)

import datasets  # noqa: E402
import gputensor as gt  # noqa: E402


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
    # resumes from the checkpoint at epoch 1, on cpu (the simulator is slow; a cuda checkpoint
    # then also checks torch.load's map_location across devices)
    resumed = args[:2] + ["cpu"] + args[3:]  # args[2] is the device
    train_cnn.main(resumed + ["--epochs", "2"])
    assert len(gt.load(str(ckpt))["history"]) == 4  # 2 smoke steps per epoch, 2 epochs


def test_train_cnn_learns(tmp_path):
    """~180 seeded SGD steps of a quarter-width CNN on the 8x8 digits: well above 10% chance."""
    import train_cnn
    gt_torch = train_cnn.torch
    acc = train_cnn.main(["--device", "cpu", "--width", "0.25", "--epochs", "4", "--lr", "0.05",
                          "--out-dir", str(tmp_path), "--checkpoint", "--plot", ""])
    assert acc > 0.6, acc
    history = gt_torch.load(str(tmp_path / "checkpoint.ckpt"))["history"]
    assert len(history) > 150
    first, last = np.mean(history[:10]), np.mean(history[-10:])
    assert last < 0.5 * first, (first, last)


def test_train_cnn_outputs_go_under_runs(tmp_path, monkeypatch):
    """Default outputs land in runs/train_cnn/; a smoke run writes runs/train_cnn/smoke/ only."""
    import train_cnn
    monkeypatch.chdir(tmp_path)
    real = train_cnn.parse_args(["--checkpoint"])
    assert real.plot == os.path.join("runs", "train_cnn", "loss.png")
    assert real.checkpoint == os.path.join("runs", "train_cnn", "checkpoint.ckpt")
    assert train_cnn.parse_args([]).checkpoint is None  # checkpoints are opt-in
    train_cnn.main(["--smoke", "--device", "cpu", "--checkpoint"])
    smoke = tmp_path / "runs" / "train_cnn" / "smoke"
    assert (smoke / "loss.png").exists() and (smoke / "checkpoint.ckpt").exists()
    assert not (tmp_path / "runs" / "train_cnn" / "loss.png").exists()
    assert sorted(os.listdir(tmp_path)) == ["runs"]  # nothing written beside it


def test_train_cnn_on_mnist_files(tmp_path):
    import train_cnn
    _write_mnist(tmp_path, gz=False)
    acc = train_cnn.main(["--smoke", "--device", "cpu", "--dataset", "mnist", "--data-dir",
                          str(tmp_path), "--plot", ""])
    assert 0.0 <= acc <= 1.0


def test_train_lstm_smoke(device):
    import train_lstm
    assert 0.0 <= train_lstm.main(["--smoke", "--device", device]) <= 1.0


def test_train_lstm_learns():
    """48 seeded Adam steps: recalling the first of 5 tokens beats 1/8 chance by far."""
    import train_lstm
    acc = train_lstm.main(["--device", "cpu", "--epochs", "3", "--train-size", "512",
                           "--hidden", "16", "--seq-len", "5", "--batch-size", "32"])
    assert acc > 0.5, acc


def test_regression_smoke(device):
    import regression
    lin, acc, hand = regression.main(["--smoke", "--device", device])
    assert np.isfinite(lin) and np.isfinite(hand) and 0.0 <= acc <= 1.0


def test_regression_learns():
    """200 steps from the same seeded start as 3 steps: both losses fall by 100x or more, and
    the logistic model separates the two blobs."""
    import regression
    lin3, _, hand3 = regression.main(["--smoke", "--device", "cpu"])
    lin, acc, hand = regression.main(["--steps", "200", "--device", "cpu"])
    assert lin < 0.01 * lin3 and lin < 0.1, (lin3, lin)
    assert hand < 0.01 * hand3 and hand < 1e-3, (hand3, hand)
    assert acc > 0.95, acc


def _parsers():
    import regression
    import train_cnn
    import train_lstm
    sys.path.insert(0, os.path.dirname(EXAMPLES))
    from benchmarks.__main__ import build_parser as bench_parser
    return {"train_cnn": train_cnn.build_parser(), "train_lstm": train_lstm.build_parser(),
            "regression": regression.build_parser(), "benchmarks": bench_parser()}


@pytest.mark.parametrize("name", ["train_cnn", "train_lstm", "regression", "benchmarks"])
def test_help_shows_every_option_and_default(name, capsys):
    parser = _parsers()[name]
    assert parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, action.option_strings
        helptext = " ".join(action.help.split())
        assert f"{helptext} (default: {action.default})" in text, action.option_strings
