"""Static visibility: the checked-in ``gputensor/tensor.pyi`` declares every op attached to
``Tensor`` at import time, and is regenerated with one command when ops are added."""
import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import gputensor as gt
from gputensor import _stubgen

PKG = Path(gt.__file__).parent


def test_py_typed_marker_shipped():
    assert (PKG / "py.typed").is_file()


def test_stub_is_current():
    """Regenerated in a fresh interpreter (this one may hold methods other tests attached)."""
    assert _stubgen.STUB.is_file(), "run `python -m gputensor._stubgen`"
    r = subprocess.run([sys.executable, "-m", "gputensor._stubgen", "--check"],
                       capture_output=True, text=True, cwd=PKG.parent)
    assert r.returncode == 0, (
        "gputensor/tensor.pyi is stale (ops were added or changed): regenerate it with "
        "`python -m gputensor._stubgen`\n" + r.stderr[-2000:])


def _stub_class_members(tree: ast.Module, cls: str) -> set:
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    names = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            names.add(item.name)
        elif isinstance(item, ast.AnnAssign):
            names.add(item.target.id)
    return names


def test_stub_declares_every_tensor_member():
    tree = ast.parse(_stubgen.STUB.read_text())
    members = _stub_class_members(tree, "Tensor")
    for name in ("sum", "matmul", "add", "reshape", "__getitem__", "is_cpu", "backward", "to"):
        assert name in members
    top = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert {"Tensor", "Size", "tensor_method", "_wrap_dim"} <= top


def test_stub_signatures_come_from_the_ops():
    text = _stubgen.STUB.read_text()
    assert "def sum(input: Tensor, dim=None, keepdim: builtins.bool = False, *, dtype=None, " \
           "out=None) -> Tensor: ..." in text
    assert "def add(input, other, *, alpha=1, out=None) -> Tensor: ..." in text


def test_check_mode_detects_staleness(tmp_path, monkeypatch):
    stale = tmp_path / "tensor.pyi"
    stale.write_text("# old\n")
    monkeypatch.setattr(_stubgen, "STUB", stale)
    monkeypatch.setattr(_stubgen, "render", lambda: "# new\n")
    assert _stubgen.main(["--check"]) == 1
    assert _stubgen.main([]) == 0 and _stubgen.main(["--check"]) == 0


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_type_checker_sees_methods(tmp_path):
    src = tmp_path / "use.py"
    src.write_text("import gputensor as torch\nx = torch.ones(2)\nreveal_type(x.sum(0))\n"
                   "y: int = x.matmul(x)\n")
    r = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent",
                        "--ignore-missing-imports", str(src)], capture_output=True, text=True,
                       cwd=PKG.parent)
    assert 'Revealed type is "gputensor.tensor.Tensor"' in r.stdout
    assert "Incompatible types in assignment" in r.stdout
    assert "tensor.pyi" not in r.stdout  # the stub itself type-checks cleanly
