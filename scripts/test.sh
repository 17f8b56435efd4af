#!/usr/bin/env bash
# The full test suite: set up, build, run ctest; then the unit tests and the end-to-end tests that
# train (label sanitize) again under AddressSanitizer and UndefinedBehaviorSanitizer; then the
# readers of untrusted input under libFuzzer (clang, tests/fuzz: a short run of each harness over
# its committed corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Test-only packages, never dependencies of dptrain itself: PyTorch is the tests' oracle
# (tests/oracle); clang with its sanitizer and libFuzzer runtimes (libclang-rt) and its OpenMP
# (libomp) build the fuzz harnesses (tests/fuzz); iproute2 and strace run the two emulated hosts
# (tests/e2e/two_hosts.sh).
missing=()
for p in python3-torch clang libclang-rt-dev libomp-dev iproute2 strace; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  s=""
  [[ $(id -u) == 0 ]] || s=sudo
  $s apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
(cd build && ctest --output-on-failure -j1)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDPTRAIN_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)" >/dev/null
(cd build-sanitize && ctest --output-on-failure -L "unit|sanitize")
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDPTRAIN_FUZZ=ON >/dev/null
cmake --build build-fuzz --target fuzz -j"$(nproc)" >/dev/null
(cd build-fuzz && ctest --output-on-failure -L fuzz -j"$(nproc)")
