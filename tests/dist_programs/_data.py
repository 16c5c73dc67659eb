"""Deterministic per-rank inputs shared by the rank programs and tests/test_distributed.py."""
import numpy as np

SHAPE = (3, 5)
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def ops_for(dtype: str) -> list[str]:
    if dtype == "bool":
        return ["SUM", "PRODUCT", "MIN", "MAX"]
    if dtype.startswith("float"):
        return ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]
    return ["SUM", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]


def make(rank: int, dtype: str, salt: int, shape=SHAPE) -> np.ndarray:
    """Small exact values: ints 1..3, floats multiples of 0.5 in [-2, 2], random bools."""
    rng = np.random.default_rng(1000 * rank + salt)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("float"):
        return (rng.integers(-4, 5, shape) / 2).astype(dtype)
    return rng.integers(1, 4, shape).astype(dtype)


def salt(name: str) -> int:
    return sum(ord(c) * (i + 1) for i, c in enumerate(name)) % 9973
