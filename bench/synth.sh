#!/usr/bin/env bash
# Gate-level synthesis of the RTL core with Yosys's generic flow (synth
# -flatten, ABC, no SAT resource sharing), and its cell count. Memories are
# flip-flops in this flow, so the code store is cut to 256 words; threads as
# given (default 2). Takes minutes. Usage: bench/synth.sh [THREADS] [CODE_WORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
words=${2:-256}
pkg=build/hw/generated/npu_isa_pkg.sv
[ -f "$pkg" ] || cmake --build build --target npu_isa_pkg >/dev/null
out=$(mktemp -d)
start=$(date +%s)
yosys -q -l "$out/log" -p "read_verilog -sv $pkg hw/npu_div.sv hw/npu_core.sv;
  chparam -set NTHREADS $threads -set CODE_WORDS $words npu_core;
  synth -top npu_core -flatten -noshare; tee -o $out/stat stat" >/dev/null
cells=$(grep -m1 'Number of cells' "$out/stat" | tr -dc 0-9)
flops=$(grep -E '\$_S?DFF' "$out/stat" | awk '{n += $2} END {print n}')
echo "npu_core (NTHREADS=$threads, CODE_WORDS=$words): $cells cells, $flops of them flip-flops ($(( $(date +%s) - start )) s in yosys synth)"
rm -rf "$out"
