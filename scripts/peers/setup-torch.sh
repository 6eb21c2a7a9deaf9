#!/usr/bin/env bash
# Makes the PyTorch peer venv of scripts/bench-peers.sh: PyTorch 2.15 from PyPI, for CPU use, without the
# ~3 GB of nvidia-* wheels it would pull. torch 2.15.0 on PyPI is a CUDA 13.2 build; it imports and runs on a
# CPU, but libtorch_cuda.so needs libcufile, libcusparseLt, libnvshmem_host and libnccl (>= 2.30 symbols) at
# import time, so those four wheels are installed --no-deps. The other CUDA libraries it links (cudart 13,
# cublas, cudnn ...) come from the machine's CUDA toolkit where there is one; without one, also install
# nvidia-cuda-runtime, nvidia-cublas and nvidia-cudnn-cu13.
#   scripts/peers/setup-torch.sh DIR        (makes DIR/venv; does nothing when it imports torch already)
set -euo pipefail
dir=${1:?usage: setup-torch.sh DIR}
mkdir -p "$dir"
cd "$dir"
if [ -x venv/bin/python ] && venv/bin/python -c "import torch" 2>/dev/null; then exit 0; fi
command -v python3 >/dev/null && python3 -c "import venv, ensurepip" 2>/dev/null ||
  { apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null; }
python3 -m venv venv
./venv/bin/pip install -q --upgrade pip
./venv/bin/pip install -q --no-deps torch==2.15.0
./venv/bin/pip install -q filelock 'typing-extensions>=4.13.0' 'setuptools>=77.0.3' 'sympy>=1.13.3' \
    'networkx>=2.5.1' jinja2 'fsspec>=0.8.5' mpmath markupsafe numpy
./venv/bin/pip install -q --no-deps nvidia-cufile==1.17.1.22 nvidia-cusparselt-cu13==0.8.1 \
    nvidia-nvshmem-cu13==3.7.2 nvidia-nccl-cu13==2.30.7
./venv/bin/python -c "import torch; print('torch', torch.__version__, torch.backends.cpu.get_cpu_capability())"
