"""DistributedDataParallel: real multi-rank jobs (``mpiexec -n N`` and gputensor's launcher)
running the programs in tests/ddp_programs/, plus single-process checks of the parts that need
no peers (bucket assignment, argument errors, the engine's final-callback hook).

Observed when written: DDP training of the reference CNN for 3 SGD-momentum steps matches
single-process training on the concatenated batch to 1.5e-8 (2 and 4 ranks); parameters are
bit-identical on every rank.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gputensor as gt
import gputensor.nn as nn
from gputensor.nn.parallel import DistributedDataParallel
from gputensor.nn.parallel._buckets import assign_buckets, bucket_limits

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "ddp_programs")
ROOT = os.path.dirname(HERE)
MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


def run_job(cmd: list, timeout: float = 120) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:  # show what the ranks printed before the hang
        pytest.fail(f"{cmd} timed out after {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def mpi(n: int, program: str, *args) -> list:
    return [MPIEXEC, "-n", str(n), sys.executable, os.path.join(PROGRAMS, program), *args]


def check_training(out, world: int) -> dict:
    info = json.load(open(out / "events.json"))
    assert info["world"] == world
    ranks = [np.load(out / f"rank{r}.npz") for r in range(world)]
    ref = np.load(out / "reference.npz")
    for k in ref.files:
        for r in range(1, world):
            np.testing.assert_array_equal(ranks[r][k], ranks[0][k], err_msg=f"{k} rank {r}")
        np.testing.assert_allclose(ranks[0][k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
    return info


def test_ddp_training_two_ranks_matches_single_process(tmp_path):
    run_job(mpi(2, "ddp_train.py", str(tmp_path)))
    info = check_training(tmp_path, 2)
    assert info["keys"][0] == "module.conv1.weight" and len(info["keys"]) == 8
    # default buckets: the first (1 MiB cap) closes on fc1.weight, the rest share one
    assert info["buckets"] == [["fc2.bias", "fc2.weight", "fc1.bias", "fc1.weight"],
                               ["conv2.bias", "conv2.weight", "conv1.bias", "conv1.weight"]]
    ev = info["events"]
    # bucket 0 is all-reduced as soon as fc1.weight's gradient is in, while backward still
    # has the conv layers' gradients to compute
    first = ev.index(["all_reduce", 10 + 1280 + 128 + 2304 * 128])
    assert ev[first - 1] == ["grad", "fc1.weight"]
    assert first < ev.index(["grad", "conv2.weight"]) < ev.index(["grad", "conv1.weight"])
    assert ev[-2:] == [["all_reduce", 64 + 18432 + 32 + 864], ["backward returned"]]


def test_ddp_four_ranks_small_buckets_bucket_view(tmp_path):
    run_job(mpi(4, "ddp_train.py", str(tmp_path), "--per-rank", "1", "--bucket-cap-mb",
                "0.05", "--gradient-as-bucket-view"))
    info = check_training(tmp_path, 4)
    assert len(info["buckets"]) == 3
    ev = info["events"]
    reduces = [i for i, e in enumerate(ev) if e[0] == "all_reduce"]
    assert len(reduces) == 3
    last_grad = ev.index(["grad", "conv1.weight"])
    assert reduces[0] < reduces[1] < last_grad  # two buckets launched before backward ends


def test_ddp_single_rank_without_launcher(tmp_path):
    run_job([sys.executable, os.path.join(PROGRAMS, "ddp_train.py"), str(tmp_path),
             "--steps", "2", "--per-rank", "3"])  # an MPI job of one: nothing to reduce
    info = check_training(tmp_path, 1)
    assert info["events"][-1] == ["backward returned"]


def test_ddp_through_launcher(tmp_path):
    run_job([sys.executable, "-m", "gputensor.distributed.run", "--nproc-per-node", "2",
             os.path.join(PROGRAMS, "ddp_train.py"), str(tmp_path), "--steps", "2"])
    check_training(tmp_path, 2)


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp_features")
    run_job(mpi(2, "ddp_features.py", str(out)))
    return [json.load(open(out / f"rank{r}.json")) for r in range(2)]


def test_no_sync_accumulates_locally_then_averages(features):
    r0, r1 = (f["no_sync"] for f in features)
    assert not np.allclose(r0["inside"]["weight"], r1["inside"]["weight"])
    np.testing.assert_array_equal(r0["after"]["weight"], r1["after"]["weight"])
    np.testing.assert_allclose(r0["after"]["weight"], r0["expected_weight"], rtol=1e-5)


def test_unused_parameter_raises_torch_error_next_forward(features):
    for rank, f in enumerate(features):
        e = f["unused_error"]
        assert e["first_ok"] and e["type"] == "RuntimeError"
        assert e["message"].startswith("Expected to have finished reduction in the prior "
                                       "iteration before starting a new one.")
        assert f"Parameter indices which did not receive grad for rank {rank}: 2 3 4 5\n" \
            in e["message"]


def test_find_unused_parameters(features):
    r0, r1 = (f["find_unused"] for f in features)
    for step in ("step0", "step1"):
        assert r0[step] == r1[step]
        assert r0[step]["c.weight"] is None and r0[step]["c.bias"] is None  # unused everywhere
        assert r0[step]["b.bias"] == [1.5, 1.5]  # rank 1's 3 rows / 2 ranks; rank 0 gave zeros
    np.testing.assert_allclose(r0["step1"]["b.weight"], r0["b_weight_expected"], rtol=1e-6)


def test_buffers_broadcast_each_forward(features):
    r0, r1 = (f["buffers"] for f in features)
    assert r0["sync=True"] == [[10.0] * 2, [11.0] * 2, [12.0] * 2]
    # construction copies rank 0's buffer; each forward re-broadcasts it before running
    assert r1["sync=True"] == [[10.0] * 2, [12.0] * 2, [13.0] * 2]
    assert r1["sync=False"] == [[10.0] * 2, [12.0] * 2, [14.0] * 2]


def test_state_dict_keys_and_broadcast_init(features):
    r0, r1 = (f["state_dict"] for f in features)
    assert r0["keys"] == ["module." + k for k in r0["inner_keys"]]
    assert r0["reload_equal"] and r0["is_module"]
    assert r0["weight"] == r1["weight"]  # ranks seeded differently: rank 0's were broadcast


def test_gradient_as_bucket_view(features):
    r0, r1 = (f["bucket_view"] for f in features)
    assert r0["grads"] == r1["grads"]
    assert all(r0["grads_are_bucket_views"])
    assert r0["buckets"] == [[3, 2, 1], [0]]
    # no zero_grad between the steps: the second holds the first plus the new average
    assert r0["grads"][1]["2.bias"] == [6.0, 6.0]


def test_cuda_module_with_device_ids(tmp_path):
    run_job(mpi(2, "ddp_features.py", str(tmp_path), "--cuda"))
    for r in range(2):
        res = json.load(open(tmp_path / f"rank{r}.json"))
        assert res["out_device"] == "cuda:0" and res["device_ids"] == [0]
        assert res["output_device"] == 0 and res["diff"] < 1e-6
        assert res["cpu_device_ids_error"].startswith(
            "DistributedDataParallel device_ids and output_device arguments only work with "
            "single-device/multiple-device GPU modules or CPU modules")


# -- single process ------------------------------------------------------------------------

def test_bucket_assignment_rules():
    ps = [gt.zeros(n) for n in (10, 300_000, 5, 5)]  # float32
    assert assign_buckets(ps, bucket_limits(None)) == [[0, 1], [2, 3]]
    assert assign_buckets(ps, [40, 1 << 30]) == [[0], [1, 2, 3]]  # crossing the cap closes
    mixed = [gt.zeros(3), gt.zeros(3, dtype=gt.float64), gt.zeros(3)]
    assert assign_buckets(mixed, [1 << 20, 1 << 20]) == [[0, 2], [1]]  # one dtype per bucket
    assert bucket_limits(None) == [1 << 20, 25 << 20] and bucket_limits(2) == [2 << 20] * 2


def test_ddp_without_process_group_raises_torch_error():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))


def test_queue_callback_runs_after_backward():
    from gputensor.autograd import engine
    order = []
    w = gt.ones(3, requires_grad=True)

    def hook(grad):
        order.append("hook")
        engine.queue_callback(lambda: order.append("final"))
    w.register_hook(hook)
    (w * 2).sum().backward()
    assert order == ["hook", "final"]
    with pytest.raises(RuntimeError, match="during backward pass"):
        engine.queue_callback(lambda: None)


def test_example_train_ddp_quick(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable,
                           os.path.join(ROOT, "examples", "train_ddp.py"), "--epochs", "1",
                           "--limit", "64", "--batch-size", "16", "--device", "cpu",
                           "--out-dir", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("final test accuracy") == 1, proc.stdout  # rank 0 prints
    assert "2 rank(s) on cpu, 64 train / 16 test images of (3, 24, 24), 2 steps per epoch" \
        in proc.stdout, proc.stdout + proc.stderr
    assert os.listdir(out) == ["checkpoint.pt"]
    ckpt = gt.load(str(out / "checkpoint.pt"))
    assert ckpt["epoch"] == 1 and list(ckpt["model"])[0] == "conv1.weight"
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        from train_ddp import Net
    finally:
        sys.path.pop(0)
    net = Net()
    net.load_state_dict(ckpt["model"])
    assert net(gt.zeros(1, 3, 24, 24)).shape == (1, 10)
