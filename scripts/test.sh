#!/usr/bin/env bash
# Installs what is needed, builds, checks formatting and runs every test.
# Usage: scripts/test.sh [ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
./scripts/check-format.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" "$@"
