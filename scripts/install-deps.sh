#!/usr/bin/env bash
# Installs every Debian package attnc's build, tests and examples need (gcc: attnc
# compiles the C entry point of each x86 kernel with `cc`; binutils: it links a
# kernel's objects into one and hides their internal symbols with `objcopy`;
# python3: the benchmark scripts' table writer, tested by ctest; llvm-19: llc-19
# compiles the kernels that use bf16 dot products).
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail
pkgs=(
  cmake ninja-build ccache gcc g++ binutils pkg-config python3 llvm-19
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  clang-19 libclang-rt-19-dev
  libhalide14-0-dev
  catch2 libcli11-dev nlohmann-json3-dev libfmt-dev
  libeigen3-dev libopenblas-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
