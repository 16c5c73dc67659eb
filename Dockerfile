# gputensor on an NVIDIA GPU: CUDA 12 runtime, CuPy for arrays, numba-cuda (with NVVM/NVRTC from
# PyPI) for the hand-written kernels. Build: docker build -t gputensor .
# Run the CNN example on the GPU: docker run --rm --gpus all gputensor
FROM nvidia/cuda:12.6.3-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3=3.10.* python3-venv=3.10.* \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

WORKDIR /opt/gputensor
COPY docker/requirements-cuda12.txt ./
RUN pip install --requirement requirements-cuda12.txt
COPY pyproject.toml README.md ./
COPY kernels ./kernels
COPY gputensor ./gputensor
COPY examples ./examples
RUN pip install --no-deps .

CMD ["python", "examples/train_cnn.py", "--device", "cuda"]
