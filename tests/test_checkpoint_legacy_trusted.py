"""A trusted (weights_only=False) legacy checkpoint runs its pickled code exactly once."""
import io

import numpy as np
import pytest

import gputensor as gt
from gputensor.serialization._torch_write import save_torch_legacy

CALLS = []


def _record(tag):
    CALLS.append(tag)
    return tag


class Tagged:
    def __reduce__(self):
        return (_record, ("ran",))


@pytest.mark.parametrize("map_location", [None, "cpu", "cuda", lambda t, loc: t.to("cuda")])
def test_trusted_legacy_file_code_runs_once(map_location):
    buf = io.BytesIO()
    save_torch_legacy({"w": gt.arange(6.0).reshape(2, 3), "tag": Tagged(), "n": [1, (2, 3)]}, buf)
    CALLS.clear()
    buf.seek(0)
    out = gt.load(buf, map_location=map_location, weights_only=False)
    assert CALLS == ["ran"], "the pickled call must run once, not once per pass"
    assert out["tag"] == "ran" and out["n"] == [1, (2, 3)]
    want = "cpu" if map_location in (None, "cpu") else "cuda"
    assert out["w"].device.type == want
    np.testing.assert_array_equal(out["w"].cpu().numpy(), np.arange(6.0).reshape(2, 3))


def test_untrusted_legacy_file_refuses_the_call():
    buf = io.BytesIO()
    save_torch_legacy({"tag": Tagged()}, buf)
    CALLS.clear()
    buf.seek(0)
    with pytest.raises(gt.serialization.LoadError, match="Weights only load failed"):
        gt.load(buf)
    assert CALLS == []
