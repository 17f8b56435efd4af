#!/usr/bin/env bash
# The full test suite: set up, build, run ctest; then the unit tests again under AddressSanitizer
# and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
(cd build && ctest --output-on-failure -j1)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DDPTRAIN_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)" >/dev/null
(cd build-sanitize && ctest --output-on-failure -L unit)
