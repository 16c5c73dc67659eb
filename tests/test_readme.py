"""README's quickstart runs as written, and its test command is the one CI runs."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme() -> str:
    with open(os.path.join(ROOT, "README.md")) as fh:
        return fh.read()


def test_quickstart_runs(tmp_path, monkeypatch):
    code = _readme().split("## Drop-in quickstart")[1].split("```python")[1].split("```")[0]
    import gputensor
    monkeypatch.chdir(tmp_path)  # it saves model.pth in the working directory
    # Full-size layers are far too slow for the simulated cuda device: run it as on a cpu machine.
    monkeypatch.setattr(gputensor.cuda, "is_available", lambda: False)
    scope: dict = {}
    exec(compile(code, "README quickstart", "exec"), scope)  # noqa: S102
    assert 0.0 < scope["loss"].item() < 10.0
    assert (tmp_path / "model.pth").exists()


def test_ci_runs_readme_test_command():
    with open(os.path.join(ROOT, ".ci", "run")) as fh:
        ci = fh.read()
    cmd = ci.split("TEST_CMD='")[1].split("'")[0]
    assert cmd in _readme()
