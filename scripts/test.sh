#!/usr/bin/env bash
# The full test suite: set up, build, run ctest; then the unit tests again under AddressSanitizer
# and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# PyTorch is the tests' oracle (tests/oracle), never a dependency of dptrain itself.
dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed" || {
  s=""
  [[ $(id -u) == 0 ]] || s=sudo
  $s apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
}
(cd build && ctest --output-on-failure -j1)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DDPTRAIN_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)" >/dev/null
(cd build-sanitize && ctest --output-on-failure -L unit)
