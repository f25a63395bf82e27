#!/usr/bin/env bash
# Measurements for docs/bench.md: the reference interpreter against the
# kernel's BPF_PROG_TEST_RUN on the differential test's packets (wall clock,
# needs root), and the interpreter's instruction count per packet under
# callgrind (repeatable on any machine); the ISS's speed; the compiler's
# figures and its compile time against `bpftool prog load`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
# Exit status 77: no bpf() privilege (it says why); the other figures still come.
./build/bench/ref_vs_kernel "$@" || [ $? -eq 77 ]
out=$(mktemp -d)
# Host instructions per packet inside ref::Interpreter::run_xdp, over the differential
# test's firewall packets (callgrind counts are repeatable).
for ex in firewall router loops; do
  ./build/npu gen --profile examples/xdp/$ex.traffic.json --count 10000 --seed 1 -o "$out/$ex.pcap" >/dev/null
  valgrind --tool=callgrind --toggle-collect='ref::Interpreter::run_xdp*' --callgrind-out-file="$out/cg" \
    ./build/npu interp build/examples/xdp/$ex.o --pcap "$out/$ex.pcap" --maps examples/xdp/$ex.maps.json \
    --out "$out/o" >/dev/null 2>"$out/log"
  ir=$(grep -o 'refs: *[0-9,]*' "$out/log" | tail -1 | tr -d ', ' | cut -d: -f2)
  echo "$ex: $((ir / 10000)) host instructions per packet in run_xdp (callgrind)"
done
rm -rf "$out"

# The NPU ISS: simulated instructions per host second on one core (wall clock;
# ALU, memory/packet and eight-thread loops), then host instructions per
# simulated instruction inside Machine::run under callgrind (repeatable).
./build/bench/iss_speed
iss_out=$(mktemp -d)
for c in alu mem alu8 emem8; do
  valgrind --tool=callgrind --toggle-collect='npu::iss::Machine::run*' \
    --callgrind-out-file="$iss_out/cg" ./build/bench/iss_speed --quick --case $c \
    >"$iss_out/out" 2>"$iss_out/log"
  ir=$(grep -o 'refs: *[0-9,]*' "$iss_out/log" | tail -1 | tr -d ', ' | cut -d: -f2)
  n=$(grep -o '\[[0-9]* insns' "$iss_out/out" | tr -dc 0-9)
  echo "iss $c: $(awk -v a="$ir" -v b="$n" 'BEGIN { printf "%.1f", a / b }') host instructions per simulated instruction in Machine::run (callgrind)"
done
rm -rf "$iss_out"

# The compiler: BPF and NPU instructions per program, cycles per typical packet
# on the ISS device (deterministic), compile time of every example and of the
# largest against `bpftool prog load` (wall clock; the kernel figures need
# root, and say why when they are missing). Then the host instructions of
# compiling the largest example, inside npucc::compile under callgrind
# (repeatable).
./build/bench/compiler_bench "$@"
largest=$(./build/bench/compiler_bench --largest)
cc_out=$(mktemp -d)
valgrind --tool=callgrind --toggle-collect='npucc::compile*' --callgrind-out-file="$cc_out/cg" \
  ./build/npu compile "build/examples/xdp/$largest.o" -o "$cc_out/$largest.npu" >/dev/null 2>"$cc_out/log"
# The object loader forks a child, which callgrind counts apart (0): take the larger count.
ir=$(grep -o 'refs: *[0-9,]*' "$cc_out/log" | tr -d ', ' | cut -d: -f2 | sort -n | tail -1)
echo "compile $largest: $ir host instructions in npucc::compile (callgrind)"
rm -rf "$cc_out"

# The NIC model: every example on the default card at 64 bytes and line rate
# (modelled Mpps, latency, bottleneck: deterministic), and the simulator's own
# speed at 1, 16 and 48 cores (wall clock).
python3 bench/nic_bench.py

# The RTL core: cycles per packet of every example on the ISS and the RTL side
# by side, the speed of each (simulated cycles per host second), and the
# Yosys cell count of a gate-level synthesis (minutes).
./build/bench/rtl_bench
./bench/synth.sh

# The card in the loop (npu dev, needs root): the packet rate through the card
# between two network namespaces and the latency of host map updates.
/usr/bin/python3 bench/dev_bench.py --npu build/npu --obj build/examples/xdp || [ $? -eq 77 ]
