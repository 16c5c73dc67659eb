"""Rank program: runs every collective (sync and async) and saves what each rank got.

usage: collectives.py OUTDIR BACKEND DEVICE [DTYPES,...]
Writes OUTDIR/rank{R}.npz (tensors) and OUTDIR/rank{R}.json (env, objects, groups, p2p).
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import DTYPES, make, ops_for, salt  # noqa: E402

import gputensor as torch  # noqa: E402
import gputensor.distributed as dist  # noqa: E402

out, backend, device = sys.argv[1], sys.argv[2], sys.argv[3]
dtypes = sys.argv[4].split(",") if len(sys.argv) > 4 else DTYPES
dist.init_process_group(backend)
r, n = dist.get_rank(), dist.get_world_size()
res: dict[str, np.ndarray] = {}
info: dict = {"env": {k: os.environ.get(k) for k in (
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR",
    "MASTER_PORT", "TORCHELASTIC_RUN_ID")}, "rank": r, "size": n,
    "backend": str(dist.get_backend())}


def T(a):
    return torch.tensor(a, device=device)


def H(t):
    return t.cpu().numpy().copy()


def mk(name, rank=r, shape=None):
    return make(rank, name.split("/")[1], salt(name), *(() if shape is None else (shape,)))


def run(key, fn, async_op):
    work = fn(async_op)
    if async_op:
        assert isinstance(work, dist.Work), (key, work)
        assert work.wait() is True and work.is_completed(), key
    else:
        assert work is None, (key, work)


for dt in dtypes:
    for mode in (False, True):
        sfx = "async" if mode else "sync"
        for op in ops_for(dt):
            key = f"all_reduce/{dt}/{op}/{sfx}"
            t = T(mk(f"all_reduce/{dt}/{op}"))
            v0 = t._version.value
            run(key, lambda a: dist.all_reduce(t, op=getattr(dist.ReduceOp, op), async_op=a), mode)
            assert t._version.value > v0
            res[key] = H(t)
        key = f"broadcast/{dt}"
        t = T(mk(key))
        run(key, lambda a: dist.broadcast(t, src=n - 1, async_op=a), mode)
        res[f"{key}/{sfx}"] = H(t)
        key = f"reduce/{dt}"
        t = T(mk(key))
        op = "MAX" if dt == "bool" else "SUM"
        run(key, lambda a: dist.reduce(t, dst=0, op=getattr(dist.ReduceOp, op), async_op=a), mode)
        res[f"{key}/{sfx}"] = H(t)
        key = f"all_gather/{dt}"
        lst = [T(np.zeros_like(mk(key))) for _ in range(n)]
        run(key, lambda a: dist.all_gather(lst, T(mk(key)), async_op=a), mode)
        res[f"{key}/{sfx}"] = np.stack([H(x) for x in lst])
        key = f"all_gather_into_tensor/{dt}"
        cat = T(np.zeros((n * 3, 5), dtype=dt))
        run(key, lambda a: dist.all_gather_into_tensor(cat, T(mk(key)), async_op=a), mode)
        stk = T(np.zeros((n, 3, 5), dtype=dt))
        run(key, lambda a: dist.all_gather_into_tensor(stk, T(mk(key)), async_op=a), mode)
        res[f"{key}/{sfx}"] = H(cat).reshape(n, 3, 5)
        res[f"{key}/stacked/{sfx}"] = H(stk)
        if dt != "bool":
            key = f"reduce_scatter/{dt}"
            outp = T(np.zeros((3, 5), dtype=dt))
            ins = [T(x) for x in mk(key, shape=(n, 3, 5))]
            run(key, lambda a: dist.reduce_scatter(outp, ins, async_op=a), mode)
            res[f"{key}/{sfx}"] = H(outp)
            key = f"reduce_scatter_tensor/{dt}"
            outp = T(np.zeros((3, 5), dtype=dt))
            run(key, lambda a: dist.reduce_scatter_tensor(outp, T(mk(key, shape=(n * 3, 5))),
                                                          async_op=a), mode)
            res[f"{key}/{sfx}"] = H(outp)
        key = f"gather/{dt}"
        dst = 1 % n
        glist = [T(np.zeros((3, 5), dtype=dt)) for _ in range(n)] if r == dst else None
        run(key, lambda a: dist.gather(T(mk(key)), glist, dst=dst, async_op=a), mode)
        if r == dst:
            res[f"{key}/{sfx}"] = np.stack([H(x) for x in glist])
        key = f"scatter/{dt}"
        t = T(np.zeros((3, 5), dtype=dt))
        slist = [T(x) for x in mk(key, shape=(n, 3, 5))] if r == 0 else None
        run(key, lambda a: dist.scatter(t, slist, src=0, async_op=a), mode)
        res[f"{key}/{sfx}"] = H(t)
        key = f"all_to_all/{dt}"  # rank r sends (j + 1) rows to rank j
        full = mk(key, shape=(n * (n + 1) // 2, 5))
        offs = np.cumsum([0] + [j + 1 for j in range(n)])
        ins = [T(full[offs[j]:offs[j + 1]]) for j in range(n)]
        outs = [T(np.zeros((r + 1, 5), dtype=dt)) for _ in range(n)]
        run(key, lambda a: dist.all_to_all(outs, ins, async_op=a), mode)
        res[f"{key}/{sfx}"] = np.concatenate([H(x) for x in outs])
        key = f"all_to_all_single/{dt}"
        o = T(np.zeros((n * 2, 5), dtype=dt))
        run(key, lambda a: dist.all_to_all_single(o, T(mk(key, shape=(n * 2, 5))), async_op=a),
            mode)
        res[f"{key}/{sfx}"] = H(o)
        key = f"all_to_all_split/{dt}"
        o = T(np.zeros((n * (r + 1), 5), dtype=dt))
        run(key, lambda a: dist.all_to_all_single(o, T(full), [r + 1] * n,
                                                  [j + 1 for j in range(n)], async_op=a), mode)
        res[f"{key}/{sfx}"] = H(o)

# non-contiguous tensors (a transposed view) are updated in place through a staging copy
base = T(np.arange(15, dtype="float32").reshape(3, 5) * (r + 1))
view = base.t()
dist.all_reduce(view)
info["noncontig"] = [view.is_contiguous(), H(base).tolist()]

# point to point: a ring with send/recv, and isend/irecv the other way; recv from any source
nxt, prv = (r + 1) % n, (r - 1) % n
x = T(np.full(4, 10 * r + 1, dtype="int64"))
y = T(np.zeros(4, dtype="int64"))
if r % 2 == 0:
    dist.send(x, nxt)
    src = dist.recv(y, prv)
else:
    src = dist.recv(y, prv)
    dist.send(x, nxt)
info["ring_recv"], info["ring_src"] = H(y).tolist(), src
z = T(np.zeros(4, dtype="float32"))
works = [dist.isend(T(np.full(4, r + 0.5, dtype="float32")), prv, tag=7),
         dist.irecv(z, nxt, tag=7)]
for w in works:
    w.wait()
info["iring_recv"] = H(z).tolist()
if r == 0:
    got = []
    for _ in range(n - 1):
        b = T(np.zeros(1, dtype="int32"))
        s = dist.recv(b, tag=3)  # any source
        got.append([s, int(H(b)[0])])
    info["any_source"] = sorted(got)
else:
    dist.send(T(np.array([100 + r], dtype="int32")), 0, tag=3)
ops = [dist.P2POp(dist.isend, T(np.full(2, r, dtype="int64")), nxt),
       dist.P2POp(dist.irecv, T(np.zeros(2, dtype="int64")), prv)]
for w in dist.batch_isend_irecv(ops):
    w.wait()
info["batch_recv"] = H(ops[1].tensor).tolist()
w = dist.all_reduce(T(np.ones(2, dtype="float32")), async_op=True)
info["future"] = w.get_future().then(lambda f: f.value()[0].sum().item() * 10).wait()

# objects
objs = [{"from": r, "list": list(range(r))}, "x" * r] if r == 0 else [None, None]
dist.broadcast_object_list(objs, src=0)
info["broadcast_object_list"] = objs
ag = [None] * n
dist.all_gather_object(ag, ("rank", r, {"sq": r * r}))
info["all_gather_object"] = ag
gl = [None] * n if r == n - 1 else None
dist.gather_object({"g": r}, gl, dst=n - 1)
info["gather_object"] = gl
so = [None]
dist.scatter_object_list(so, [[i, "s"] for i in range(n)] if r == 0 else None, src=0)
info["scatter_object_list"] = so

# subgroups: {0, last} and the odd ranks
members = sorted({0, n - 1})
g = dist.new_group(members)
t = T(np.array([float(r + 1)], dtype="float32"))
ret = dist.all_reduce(t, group=g)
info["group_first_last"] = [H(t).tolist(), dist.get_rank(g), dist.get_world_size(g), ret]
odd = dist.new_group([i for i in range(n) if i % 2 == 1])
if odd is not dist.GroupMember.NON_GROUP_MEMBER:
    t = T(np.array([r], dtype="int64"))
    dist.broadcast(t, src=n - 1 if (n - 1) % 2 else n - 2, group=odd)
    lst = [None] * dist.get_world_size(odd)
    dist.all_gather_object(lst, r, group=odd)
    info["group_odd"] = [H(t).tolist(), lst, dist.get_process_group_ranks(odd)]
else:
    info["group_odd"] = None
dist.barrier()
np.savez(os.path.join(out, f"rank{r}.npz"), **{k.replace("/", "__"): v for k, v in res.items()})
with open(os.path.join(out, f"rank{r}.json"), "w") as f:
    json.dump(info, f)
dist.destroy_process_group()
assert not dist.is_initialized()
