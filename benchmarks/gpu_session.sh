#!/usr/bin/env bash
# The editing-session benchmark on a GPU machine, 7B-shaped model, default settings: one prepared run
# for a task lent a GPU machine (which has CUDA, CMake and Python but reaches no package registry).
#
#   benchmarks/gpu_session.sh prepare   # here: wheels and a trimmed llama.cpp source into .whl/ (ignored)
#   benchmarks/gpu_session.sh run       # there, with .whl carried: builds, generates, measures into $OUT
#
# `run` builds llama-cpp-python and llama-server with CUDA from the same vendored llama.cpp, generates the
# 7B-shaped random model, and runs session_bench.py with every layer on the GPU for every system. Not yet
# run on a GPU machine (none was lent to the task that wrote it): read its log before trusting a figure.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
wheels=.whl

prepare() {
  local python=${PYTHON:-.venv/bin/python}
  local version
  version=$("$python" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
  rm -rf "$wheels" && mkdir -p "$wheels"
  local work
  work=$(mktemp -d)
  "$python" -m pip download -q --no-binary :all: --no-deps "llama-cpp-python==$version" -d "$work"
  tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
  # The sdist carries git history and vocabulary test models: 76 MB, over what a device call takes.
  tar -czf "$wheels/llama-src.tar.gz" -C "$work" --exclude='.git' --exclude='*.gguf' "llama_cpp_python-$version"
  rm -rf "$work"
  # Pure-Python and manylinux wheels of what the server and the benchmark import, for the GPU image's
  # Python 3.12 (its own numpy and jinja2 are used).
  "$python" -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    -d "$wheels" pygls lsprotocol cattrs attrs tree-sitter tree-sitter-python platformdirs gguf \
    pytest-lsp pytest pytest-asyncio pluggy iniconfig scikit-build-core pathspec diskcache
  du -sh "$wheels"
}

run() {
  : "${OUT:?run this on the device machine, where OUT is set}"
  exec > >(tee "$OUT/gpu-session.log") 2>&1
  nvidia-smi --query-gpu=name,memory.total --format=csv
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$wheels"/*.whl
  export PYTHONPATH=/tmp/site:$PWD
  local src
  tar -xzf "$wheels/llama-src.tar.gz" -C /tmp
  src=$(ls -d /tmp/llama_cpp_python-*)
  CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90" CMAKE_BUILD_PARALLEL_LEVEL=16 \
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site "$src"
  cmake -S "$src/vendor/llama.cpp" -B /tmp/server-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=on \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF >/dev/null
  cmake --build /tmp/server-build --target llama-server -j 16 >/dev/null
  export PATH=/tmp/server-build/bin:$PATH
  python3 -m codellama_ls doctor || true
  PYTHONUNBUFFERED=1 python3 benchmarks/session_bench.py --shape 7b --gpu --json "$OUT/session-7b-gpu.json"
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
