"""Rank program recording the errors bad calls raise (type and message) into OUTDIR/rank{R}.json.

Run with TORCH_DISTRIBUTED_DEBUG=DETAIL so cross-rank shape/op mismatches are detected.
"""
import json
import os
import sys

import gputensor as torch
import gputensor.distributed as dist

out = sys.argv[1]
dist.init_process_group("gloo")
r, n = dist.get_rank(), dist.get_world_size()
got = {}


def record(name, fn):
    try:
        fn()
        got[name] = None
    except Exception as exc:  # noqa: BLE001
        got[name] = [type(exc).__name__, str(exc)]


t = torch.ones(3)
record("double_init", lambda: dist.init_process_group("gloo"))
record("gather_into_size", lambda: dist.all_gather_into_tensor(torch.ones(4), t))
record("all_gather_len", lambda: dist.all_gather([torch.ones(3)], t))
record("all_gather_shape", lambda: dist.all_gather([torch.ones(2)] * n, t))
record("band_float", lambda: dist.all_reduce(t, op=dist.ReduceOp.BAND))
record("avg_int", lambda: dist.all_reduce(torch.ones(3, dtype=torch.int64), op=dist.ReduceOp.AVG))
record("send_self", lambda: dist.send(t, r))
record("bad_root", lambda: dist.broadcast(t, src=n + 3))
record("gather_list_non_dst", lambda: dist.gather(t, [t] * n if r != 0 else None, dst=0))
record("not_tensor", lambda: dist.all_reduce([t]))
record("unknown_backend", lambda: dist.new_group(backend="carrier-pigeon"))
g = dist.new_group(backend="nccl")
record("nccl_cpu", lambda: dist.all_reduce(t, group=g))
dist.barrier()
record("shape_mismatch", lambda: dist.all_reduce(torch.ones(3 + r)))
record("op_mismatch", lambda: dist.broadcast(t, src=0) if r == 0 else dist.all_reduce(t))
with open(os.path.join(out, f"rank{r}.json"), "w") as f:
    json.dump(got, f)
dist.destroy_process_group()
