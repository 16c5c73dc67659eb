"""torch's cpu ``randperm`` for a freshly seeded generator, bit for bit.

``gputensor.Generator`` is a PCG64 stream, so its permutations differ from torch's (which draws
from an mt19937 seeded with ``seed``). ``DistributedSampler`` promises torch's exact shards for a
given ``seed + epoch`` (ranks may even run different libraries), so it uses this instead:
torch's Fisher-Yates over mt19937 32-bit draws (``random() % (n - i)``), or, for huge ``n``,
its inside-out variant over 64-bit draws. NumPy's MT19937 with legacy seeding is the same
engine torch seeds (``init_genrand`` of the seed's low 32 bits).
"""
from __future__ import annotations

import numpy as np

_SMALL_N = (2 ** 32 - 1) // 20  # torch: below this, the 32-bit-draw path


def _engine(seed: int) -> np.random.MT19937:
    bg = np.random.MT19937(0)
    bg._legacy_seeding(int(seed) & 0xFFFFFFFF)
    return bg


def torch_randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``."""
    bg = _engine(seed)
    perm = list(range(n))
    if n < _SMALL_N:
        draws = bg.random_raw(max(n - 1, 0)).tolist()
        for i in range(n - 1):
            j = i + draws[i] % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
        return perm
    for i in range(n):  # inside-out, z = random64() % (i + 1), random64 = hi << 32 | lo
        hi, lo = bg.random_raw(2).tolist()
        z = ((hi << 32) | lo) % (i + 1)
        perm[i] = perm[z]
        perm[z] = i
    return perm


__all__ = ["torch_randperm"]
