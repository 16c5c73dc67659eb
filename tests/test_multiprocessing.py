"""gputensor.multiprocessing: torch.multiprocessing's names, shared-memory tensors (share_memory_,
is_shared, Module.share_memory), tensors through queues/pipes/Process args mapping the same
memory (Hogwild: a child's in-place update is seen by the parent, fork and spawn), no leaked
segments or fds, and spawn()'s ProcessContext / exceptions with torch's messages.

Child targets live at module level and this module imports torch only inside tests, so spawned
children import little."""
import os
import pickle
import signal
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

import gputensor as gt
import gputensor.multiprocessing as mp
from gputensor import nn


def _bump_params(model, done):
    with gt.no_grad():
        for p in model.parameters():
            p.add_(1)
    done.set()


def _bump_from_queue(q, done):
    t = q.get()
    t.mul_(2)
    done.put(t.is_shared())


def _send_back(conn):
    x = gt.arange(5.0) * 3
    conn.send(x)
    conn.recv()  # stay alive until the parent has mapped it


def _square(x):
    return x * x


def _spawn_ok(i, folder):
    with open(os.path.join(folder, str(i)), "w") as f:
        f.write(str(i))


def _spawn_fail(i):
    if i == 1:
        raise ValueError("bad rank 1")


def _spawn_exit(i):
    os._exit(3 if i == 0 else 0)


def _spawn_kill(i):
    os.kill(os.getpid(), signal.SIGKILL)


def test_names_match_torch_multiprocessing():
    import torch.multiprocessing as tmp
    for name in ["Process", "Queue", "SimpleQueue", "Pool", "Pipe", "Event", "Lock", "Manager",
                 "get_context", "set_start_method", "get_start_method", "spawn",
                 "start_processes", "ProcessContext", "ProcessRaisedException",
                 "ProcessExitedException", "cpu_count", "set_sharing_strategy",
                 "get_sharing_strategy", "get_all_sharing_strategies"]:
        assert hasattr(tmp, name) and hasattr(mp, name), name
    assert set(tmp.__all__) <= set(mp.__all__) | {"SpawnContext", "ENV_VAR_PARALLEL_START"}
    assert mp.cpu_count() == tmp.cpu_count()


def test_sharing_strategies_match_torch():
    import torch.multiprocessing as tmp
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == tmp.get_sharing_strategy() == "file_descriptor"
    with pytest.raises(AssertionError) as ours:
        mp.set_sharing_strategy("nope")
    with pytest.raises(AssertionError) as theirs:
        tmp.set_sharing_strategy("nope")
    assert str(ours.value) == str(theirs.value)
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")


def test_share_memory_in_place():
    x = gt.arange(6.0).reshape(2, 3)
    assert not x.is_shared()
    assert x.share_memory_() is x and x.is_shared()
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]] and x.shape == (2, 3)
    data = x._data
    x.share_memory_()
    assert x._data is data  # already shared: no new copy
    assert x[1].is_shared()  # views of shared memory are shared
    e = gt.zeros(0).share_memory_()
    assert e.is_shared() and e.shape == (0,)
    p = nn.Parameter(gt.arange(6.0).reshape(2, 3).t())  # strides kept, as torch keeps them
    p.share_memory_()
    assert p.is_shared() and p.stride() == (1, 3) and p.tolist() == [[0, 3], [1, 4], [2, 5]]
    got = ForkingPickler.loads(ForkingPickler.dumps(p))
    assert got.stride() == (1, 3) and got.tolist() == p.tolist()
    assert gt.tensor(2.5).share_memory_().item() == 2.5


def test_cuda_tensor_sharing_raises_clearly():
    x = gt.zeros(3, device="cuda")
    with pytest.raises(RuntimeError, match="cannot share cuda tensors.*cpu"):
        x.share_memory_()
    with pytest.raises(RuntimeError, match="cannot share cuda tensors"):
        ForkingPickler.dumps(x)
    assert not x.is_shared()


def _memfd_maps():
    with open("/proc/self/maps") as f:
        return sum("gputensor_" in line for line in f)


def test_no_leak_of_segments_or_fds():
    ForkingPickler.loads(ForkingPickler.dumps(gt.ones(1)))  # starts the fd-passing listener
    before_fds, before_shm = len(os.listdir("/proc/self/fd")), set(os.listdir("/dev/shm"))
    before_maps = _memfd_maps()
    ts = [gt.ones(1000).share_memory_() for _ in range(50)]
    ts += [ForkingPickler.loads(ForkingPickler.dumps(gt.ones(7))) for _ in range(5)]
    assert _memfd_maps() >= before_maps + 50
    assert set(os.listdir("/dev/shm")) == before_shm  # nothing named, ever
    del ts
    assert _memfd_maps() == before_maps
    assert len(os.listdir("/proc/self/fd")) <= before_fds


def test_module_share_memory_and_roundtrip_keeps_types():
    model = nn.Linear(3, 2)
    model.register_buffer("count", gt.zeros(1))
    assert model.share_memory() is model
    assert all(t.is_shared() for t in list(model.parameters()) + list(model.buffers()))
    w = ForkingPickler.loads(ForkingPickler.dumps(model.weight))
    assert isinstance(w, nn.Parameter) and w.requires_grad and w.is_shared()
    with gt.no_grad():
        w.add_(1)  # same memory: the original sees it
    np.testing.assert_array_equal(w.detach().numpy(), model.weight.detach().numpy())


def test_reduction_errors_and_plain_pickle_unchanged():
    import torch
    y = gt.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError) as ours:
        ForkingPickler.dumps(y)
    with pytest.raises(RuntimeError) as theirs:
        ForkingPickler.dumps(torch.ones(2, requires_grad=True) * 2)
    assert str(ours.value) == str(theirs.value)
    x = gt.arange(3.0)
    z = pickle.loads(pickle.dumps(x))  # checkpoints: a private copy
    assert not z.is_shared() and not x.is_shared() and z.tolist() == [0, 1, 2]


def test_view_of_unshared_tensor_is_sent_as_a_copy():
    base = gt.arange(6.0)
    view = base[2:5]
    got = ForkingPickler.loads(ForkingPickler.dumps(view))
    assert got.tolist() == [2, 3, 4] and got.is_shared()
    assert not base.is_shared()  # the base kept its memory (and its views)
    view[0] = 9
    assert base[2].item() == 9
    twin = base.detach()  # aliases base's array: moving base would cut it off, so copy
    ForkingPickler.dumps(base)
    assert not base.is_shared()
    base[0] = 7
    assert twin[0].item() == 7
    del twin, view
    ForkingPickler.dumps(base)  # sole owner now: moved in place, as torch does
    assert base.is_shared() and base.tolist() == [7, 1, 9, 3, 4, 5]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_hogwild_child_update_is_seen_by_parent(method):
    ctx = mp.get_context(method)
    model = nn.Linear(3, 2)
    model.share_memory()
    before = [p.detach().clone() for p in model.parameters()]
    done = ctx.Event()
    proc = ctx.Process(target=_bump_params, args=(model, done))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0 and done.is_set()
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.detach().numpy(), b.numpy() + 1)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_queue_moves_tensor_to_shared_memory_and_child_writes_through(method):
    ctx = mp.get_context(method)
    q, answers = ctx.Queue(), ctx.Queue()
    x = gt.arange(4.0)
    proc = ctx.Process(target=_bump_from_queue, args=(q, answers))
    proc.start()
    q.put(x)
    assert answers.get(timeout=120) is True
    proc.join(60)
    assert x.tolist() == [0, 2, 4, 6] and x.is_shared()  # moved in place, as torch does


def _check_sum(t, expected, out):
    out.put(float(t.sum()) == expected and t.is_shared())


def test_spawn_args_temporary_segment_survives_until_exec():
    """A view is sent as a temporary shared copy; its fd must stay open until the exec."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    view = gt.arange(10.0).reshape(2, 5)[1]
    proc = ctx.Process(target=_check_sum, args=(view, 35.0, out))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0 and out.get(timeout=5) is True


def test_pool_map_returns_shared_tensors():
    with mp.get_context("fork").Pool(2) as pool:
        out = pool.map(_square, [gt.arange(3.0), gt.ones(2)])
    assert [o.tolist() for o in out] == [[0, 1, 4], [1, 1]] and all(o.is_shared() for o in out)


def test_pipe_from_child():
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_send_back, args=(child,))
    proc.start()
    got = parent.recv()
    parent.send("done")
    proc.join(30)
    assert got.tolist() == [0, 3, 6, 9, 12] and got.is_shared()


def test_spawn_runs_fn_with_index_and_args(tmp_path):
    assert mp.spawn(_spawn_ok, args=(str(tmp_path),), nprocs=2) is None
    assert sorted(os.listdir(tmp_path)) == ["0", "1"]
    ctx = mp.spawn(_spawn_ok, args=(str(tmp_path),), nprocs=1, join=False)
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass
    assert ctx.join() is True


def test_spawn_forwards_child_exception():
    with pytest.raises(mp.ProcessRaisedException) as info:
        mp.spawn(_spawn_fail, nprocs=2)
    msg = str(info.value)
    assert msg.startswith("\n\n-- Process 1 terminated with the following error:\nTraceback")
    assert "ValueError: bad rank 1" in msg and info.value.error_index == 1


def test_spawn_exit_code_and_signal():
    with pytest.raises(mp.ProcessExitedException, match="^process 0 terminated with exit code "
                                                        "3$") as info:
        mp.spawn(_spawn_exit, nprocs=2)
    assert info.value.exit_code == 3
    with pytest.raises(mp.ProcessExitedException,
                       match="^process 0 terminated with signal SIGKILL$") as info:
        mp.spawn(_spawn_kill, nprocs=1)
    assert info.value.signal_name == "SIGKILL" and info.value.exit_code == -9


def test_spawn_exception_pickles_like_torch():
    e = mp.ProcessExitedException("m", 1, 2, exit_code=3, signal_name="SIGX")
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.msg, e2.error_index, e2.error_pid, e2.exit_code, e2.signal_name) == \
        ("m", 1, 2, 3, "SIGX")


def test_spawn_other_start_method_warns():
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        mp.spawn(_spawn_fail, nprocs=1, start_method="fork")
