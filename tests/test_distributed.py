"""gputensor.distributed: real 2- and 4-rank MPI jobs, checked against NumPy answers.

Jobs are launched once per module (fixtures) through ``python -m gputensor.distributed.run``
and through plain ``mpiexec``; each rank saves what every collective produced, and the tests
recompute the answers here with NumPy from the same deterministic per-rank inputs.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "dist_programs"))
from _data import DTYPES, make, ops_for, salt  # noqa: E402

import gputensor as gt  # noqa: E402
import gputensor.distributed as dist  # noqa: E402
from gputensor.distributed.run import find_mpiexec  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROGS = os.path.join(HERE, "dist_programs")
ROOT = os.path.dirname(HERE)
PY = sys.executable
SIM_DTYPES = ["bool", "int64", "float16", "float32"]


def _env(**extra):
    env = dict(os.environ)
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "TORCH_DISTRIBUTED_DEBUG"):
        env.pop(k, None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def launch(nproc, prog, *args, timeout=60, **env):
    cmd = [PY, "-m", "gputensor.distributed.run", "--nproc-per-node", str(nproc),
           os.path.join(PROGS, prog), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=_env(**env))


def mpiexec(nproc, prog, *args, timeout=60, **env):
    cmd = [find_mpiexec(), "-n", str(nproc), PY, os.path.join(PROGS, prog), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=_env(**env))


def _job(tmp_path_factory, name, runner, nproc, backend, device, dtypes, **env):
    out = tmp_path_factory.mktemp(name)
    args = [out, backend, device] + ([",".join(dtypes)] if dtypes != DTYPES else [])
    p = runner(nproc, "collectives.py", *args, **env)
    assert p.returncode == 0, p.stdout + p.stderr
    ranks = []
    for r in range(nproc):
        with np.load(out / f"rank{r}.npz") as z:
            arrays = {k.replace("__", "/"): z[k] for k in z.files}
        with open(out / f"rank{r}.json") as f:
            ranks.append((arrays, json.load(f)))
    return {"n": nproc, "ranks": ranks, "dtypes": dtypes, "backend": backend}


@pytest.fixture(scope="module")
def job2(tmp_path_factory):
    """2 ranks through the launcher, backend "gloo", cpu."""
    return _job(tmp_path_factory, "j2", launch, 2, "gloo", "cpu", DTYPES)


@pytest.fixture(scope="module")
def job4(tmp_path_factory):
    """4 ranks (2 cores, oversubscribed) through plain mpiexec, backend "mpi", cpu."""
    return _job(tmp_path_factory, "j4", mpiexec, 4, "mpi", "cpu", DTYPES)


@pytest.fixture(scope="module")
def jobsim(tmp_path_factory):
    """2 ranks, backend "nccl", cuda tensors on the simulator (the MPI host fallback)."""
    return _job(tmp_path_factory, "jsim", launch, 2, "nccl", "cuda", SIM_DTYPES,
                NUMBA_ENABLE_CUDASIM="1")


def _reduce(op, arrs):
    a = np.stack(arrs)
    if a.dtype == np.bool_:
        return {"SUM": a.any(0), "MAX": a.any(0), "PRODUCT": a.all(0), "MIN": a.all(0)}[op]
    wide = a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64)
    res = {"SUM": lambda: wide.sum(0), "AVG": lambda: wide.mean(0),
           "PRODUCT": lambda: wide.prod(0), "MIN": lambda: wide.min(0),
           "MAX": lambda: wide.max(0),
           "BAND": lambda: np.bitwise_and.reduce(wide, 0),
           "BOR": lambda: np.bitwise_or.reduce(wide, 0),
           "BXOR": lambda: np.bitwise_xor.reduce(wide, 0)}[op]()
    return res.astype(a.dtype)


def _inputs(key, n, shape=None):
    dt = key.split("/")[1]
    return [make(q, dt, salt(key), *(() if shape is None else (shape,))) for q in range(n)]


def _expected(key, r, n):
    """NumPy's answer for result ``key`` on rank ``r`` of ``n``."""
    kind, dt = key.split("/")[:2]
    base = f"{kind}/{dt}"
    offs = np.cumsum([0] + [j + 1 for j in range(n)])
    if kind == "all_reduce":
        op = key.split("/")[2]
        return _reduce(op, _inputs(f"{base}/{op}", n))
    if kind == "broadcast":
        return _inputs(base, n)[n - 1]
    if kind == "reduce":
        ins = _inputs(base, n)
        return _reduce("MAX" if dt == "bool" else "SUM", ins) if r == 0 else ins[r]
    if kind in ("all_gather", "all_gather_into_tensor", "gather"):
        return np.stack(_inputs(base, n))
    if kind == "reduce_scatter":
        return _reduce("SUM", [x[r] for x in _inputs(base, n, (n, 3, 5))])
    if kind == "reduce_scatter_tensor":
        return _reduce("SUM", [x.reshape(n, 3, 5)[r] for x in _inputs(base, n, (n * 3, 5))])
    if kind == "scatter":
        return _inputs(base, n, (n, 3, 5))[0][r]
    if kind in ("all_to_all", "all_to_all_split"):
        full = _inputs(f"all_to_all/{dt}", n, (n * (n + 1) // 2, 5))
        return np.concatenate([f[offs[r]:offs[r + 1]] for f in full])
    if kind == "all_to_all_single":
        return np.concatenate([x[2 * r:2 * r + 2] for x in _inputs(base, n, (n * 2, 5))])
    raise AssertionError(key)


def _expected_keys(dtypes, n, r):
    keys = []
    for dt in dtypes:
        for sfx in ("sync", "async"):
            keys += [f"all_reduce/{dt}/{op}/{sfx}" for op in ops_for(dt)]
            keys += [f"{k}/{dt}/{sfx}" for k in ("broadcast", "reduce", "all_gather",
                                                 "all_gather_into_tensor", "scatter",
                                                 "all_to_all", "all_to_all_single",
                                                 "all_to_all_split")]
            keys.append(f"all_gather_into_tensor/{dt}/stacked/{sfx}")
            if dt != "bool":
                keys += [f"reduce_scatter/{dt}/{sfx}", f"reduce_scatter_tensor/{dt}/{sfx}"]
            if r == 1 % n:
                keys.append(f"gather/{dt}/{sfx}")
    return keys


def _check_collectives(job):
    n = job["n"]
    checked = 0
    for r, (arrays, _) in enumerate(job["ranks"]):
        keys = _expected_keys(job["dtypes"], n, r)
        assert sorted(arrays) == sorted(keys)
        for key in keys:
            want = _expected(key, r, n)
            got = arrays[key]
            assert got.dtype == want.dtype, key
            np.testing.assert_array_equal(got.reshape(want.shape), want, err_msg=f"rank {r} {key}")
            checked += 1
    return checked


def test_collectives_2_ranks_launcher_gloo(job2):
    assert _check_collectives(job2) > 500


def test_collectives_4_ranks_mpiexec_mpi(job4):
    assert _check_collectives(job4) > 1000


def test_collectives_nccl_on_simulated_cuda(jobsim):
    assert _check_collectives(jobsim) > 100
    assert jobsim["ranks"][0][1]["backend"] == "nccl"


@pytest.mark.parametrize("which", ["job2", "job4", "jobsim"])
def test_point_to_point_objects_groups(which, request):
    job = request.getfixturevalue(which)
    n = job["n"]
    for r, (_, info) in enumerate(job["ranks"]):
        prv, nxt = (r - 1) % n, (r + 1) % n
        assert info["rank"] == r and info["size"] == n
        assert info["ring_recv"] == [10 * prv + 1] * 4 and info["ring_src"] == prv
        assert info["iring_recv"] == [nxt + 0.5] * 4
        assert info["batch_recv"] == [prv, prv]
        scale = n * (n + 1) / 2
        assert info["noncontig"] == [False, (np.arange(15.0).reshape(3, 5) * scale).tolist()]
        assert info["future"] == 10.0 * 2 * n
        if r == 0:
            assert info["any_source"] == [[q, 100 + q] for q in range(1, n)]
        assert info["broadcast_object_list"] == [{"from": 0, "list": []}, ""]
        assert info["all_gather_object"] == [["rank", q, {"sq": q * q}] for q in range(n)]
        assert info["gather_object"] == ([{"g": q} for q in range(n)] if r == n - 1 else None)
        assert info["scatter_object_list"] == [[r, "s"]]
        members = sorted({0, n - 1})
        if r in members:
            assert info["group_first_last"] == [[float(n + 1)], members.index(r), 2, None]
        else:  # non-members: no-op, rank -1 as torch
            assert info["group_first_last"] == [[float(r + 1)], -1, -1, None]
        odd = [q for q in range(n) if q % 2 == 1]
        if r in odd:
            assert info["group_odd"] == [[odd[-1]], odd, odd]
        else:
            assert info["group_odd"] is None


def test_torchrun_environment(job2):
    run_ids = set()
    for r, (_, info) in enumerate(job2["ranks"]):
        env = info["env"]
        assert env["RANK"] == str(r) and env["LOCAL_RANK"] == str(r)
        assert env["WORLD_SIZE"] == "2" and env["LOCAL_WORLD_SIZE"] == "2"
        assert env["GROUP_RANK"] == "0"
        assert env["MASTER_ADDR"] == "127.0.0.1" and env["MASTER_PORT"] == "29500"
        run_ids.add(env["TORCHELASTIC_RUN_ID"])
    assert len(run_ids) == 1 and None not in run_ids


def test_plain_mpiexec_sets_no_torchrun_env(job4):
    assert all(info["env"]["RANK"] is None for _, info in job4["ranks"])


@pytest.mark.parametrize("mode,needle", [
    ("raise", "rank 1 (local_rank: 1) exitcode: 1"),
    ("exit", "rank 1 (local_rank: 1) exitcode: 3"),
    ("kill", "rank 1 (local_rank: 1) was killed by SIGKILL"),
    ("early", "rank 1 (local_rank: 1) exitcode: 1"),
])
def test_failing_rank_is_named(mode, needle):
    t0 = time.monotonic()
    p = launch(2, "fail.py", mode, timeout=30)
    assert time.monotonic() - t0 < 15
    assert p.returncode != 0
    assert needle in p.stderr, p.stderr
    assert "unreachable" not in p.stdout
    if mode == "raise":
        assert "ValueError: rank one says boom" in p.stderr
    if mode == "early":  # rank 0 waits in MPI_Init for a peer that never comes: stopped anyway
        assert "ImportError: rank one cannot import its model" in p.stderr


def test_timeout_names_collective_and_rank():
    t0 = time.monotonic()
    p = launch(2, "fail.py", "timeout", timeout=40)
    assert time.monotonic() - t0 < 20  # the 2 s group timeout, not rank 1's 60 s sleep
    assert p.returncode != 0
    assert "rank 0 (local_rank: 0) exitcode: 1" in p.stderr, p.stderr
    assert "DistBackendError: [Rank 0] all_reduce timed out after 2 seconds" in p.stderr


def test_plain_mpiexec_raise_aborts_job():
    t0 = time.monotonic()
    p = mpiexec(2, "fail.py", "raise", timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert time.monotonic() - t0 < 15
    assert "unreachable" not in out
    # the rank's own notice; under heavy load hydra may tear down before relaying it, but its
    # MPI_Abort report (naming the process) always comes back
    assert ("rank 1 raised ValueError; aborting the MPI job" in out
            or "MPI_Abort(MPI_COMM_WORLD, 1) - process 1" in out), out


def test_errors_inside_a_job(tmp_path):
    p = launch(2, "errors.py", tmp_path, TORCH_DISTRIBUTED_DEBUG="DETAIL")
    assert p.returncode == 0, p.stderr
    for r in range(2):
        got = json.loads((tmp_path / f"rank{r}.json").read_text())
        assert got["double_init"] == ["ValueError",
                                      "trying to initialize the default process group twice!"]
        assert got["gather_into_size"][0] == "RuntimeError"
        assert "output tensor size must be equal to world_size times input tensor size" in \
            got["gather_into_size"][1]
        assert "expected length 2, got 1" in got["all_gather_len"][1]
        assert "expected (3,), got (2,)" in got["all_gather_shape"][1]
        assert got["band_float"] == ["RuntimeError",
                                     "Cannot use ReduceOp.BAND with non-integral dtype"]
        assert got["avg_int"][0] == "RuntimeError"
        assert got["send_self"] == ["ValueError", "Invalid destination rank: destination rank "
                                    "should not be the same as the rank of the current process."]
        assert got["bad_root"][0] == "ValueError"
        want = ("Argument ``gather_list`` must be specified on destination rank." if r == 0 else
                "Argument ``gather_list`` must NOT be specified on non-destination ranks.")
        assert got["gather_list_non_dst"] == ["ValueError", want]
        assert got["not_tensor"][0] == "TypeError"
        assert got["unknown_backend"][0] == "ValueError"
        assert got["nccl_cpu"] == ["RuntimeError",
                                   "No backend type associated with device type cpu"]
        assert got["shape_mismatch"][0] == "RuntimeError"
        msg = got["shape_mismatch"][1]
        assert "Detected mismatch between collectives on ranks" in msg
        assert "Rank 0" in msg and "Rank 1" in msg and "[3]" in msg and "[4]" in msg
        assert "BROADCAST" in got["op_mismatch"][1] and "ALL_REDUCE" in got["op_mismatch"][1]


def test_before_init_raises_torch_error():
    msg = ("Default process group has not been initialized, please make sure to call "
           "init_process_group.")
    assert dist.is_available() and not dist.is_initialized()
    assert dist.group.WORLD is None and dist.GroupMember.NON_GROUP_MEMBER == -100
    for fn in (lambda: dist.all_reduce(gt.ones(2)), dist.get_rank, dist.get_world_size,
               dist.barrier, dist.get_backend, lambda: dist.new_group([0]),
               lambda: dist.broadcast_object_list([1])):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
    try:
        dist.all_reduce(gt.ones(2))
    except ValueError as exc:
        assert str(exc) == msg


def test_reduce_op_and_backend_names():
    import torch.distributed as tdist
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        assert int(getattr(dist.ReduceOp, name)) == int(getattr(tdist.ReduceOp, name).value)
        assert repr(getattr(dist.ReduceOp, name)) == repr(getattr(tdist.ReduceOp, name))
    assert dist.Backend("GLOO") == "gloo" and dist.Backend.NCCL == "nccl"
    assert dist.default_pg_timeout == tdist.constants.default_pg_timeout
    assert issubclass(dist.DistBackendError, dist.DistError)
    assert issubclass(dist.DistError, RuntimeError)


def test_world_size_must_match_mpi():
    code = ("import gputensor.distributed as d\n"
            "try:\n    d.init_process_group('gloo', world_size=3)\n"
            "except RuntimeError as e:\n    print('ERR', e)\n")
    p = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=30,
                       env=_env(), cwd=ROOT)
    assert "ERR init_process_group: world_size=3 but this process belongs to an MPI job of 1" \
        in p.stdout, p.stdout + p.stderr


def test_launcher_flags_and_missing_mpiexec(tmp_path):
    prog = tmp_path / "env.py"
    prog.write_text("import os, sys\n"
                    "e = os.environ\n"
                    "open(os.path.join(sys.argv[1], 'env' + e['RANK']), 'w').write("
                    "' '.join([e['RANK'], e['WORLD_SIZE'], e['MASTER_PORT'], sys.argv[2]]))\n")
    cmd = [PY, "-m", "gputensor.distributed.run", "--nproc_per_node=2", "--master_port",
           "1234", str(prog), str(tmp_path), "--flag-for-script"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=_env(), cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert [(tmp_path / f"env{r}").read_text() for r in range(2)] == \
        ["0 2 1234 --flag-for-script", "1 2 1234 --flag-for-script"]
    bad = cmd[:3] + ["--mpiexec", str(tmp_path / "nope"), str(prog)]
    p = subprocess.run(bad, capture_output=True, text=True, timeout=30, env=_env(), cwd=ROOT)
    assert p.returncode == 1 and "does not exist or is not executable" in p.stderr, p.stderr
