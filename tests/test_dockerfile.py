"""The Dockerfile cannot be built here (no Docker engine), so it is linted: hadolint must pass,
and the image must install the pinned CUDA requirements and run the CNN example on the GPU."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _hadolint() -> str:
    exe = shutil.which("hadolint") or os.path.join(os.path.dirname(sys.executable), "hadolint")
    assert os.path.exists(exe), "hadolint not installed (it comes with the [test] extra)"
    return exe


def test_hadolint_passes():
    r = subprocess.run([_hadolint(), os.path.join(ROOT, "Dockerfile")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfile_pins_and_runs_cnn_on_gpu():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    assert "FROM nvidia/cuda:" in text and "-runtime-" in text
    reqs = open(os.path.join(ROOT, "docker", "requirements-cuda12.txt")).read().split("\n")
    pins = [line for line in reqs if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    assert any(line.startswith("cupy-cuda12x==") for line in pins)
    assert 'CMD ["python", "examples/train_cnn.py", "--device", "cuda"]' in text
