#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then take a real XDP
# program (examples/xdp/firewall.c), compile it to NPU microcode with its
# listing, and run it on the cycle-level model of the NIC with a default
# traffic mix (npu run): throughput, latency, utilisation, bottleneck.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
out=build/demo
mkdir -p "$out"
# The offload compiler: verify and compile to NPU microcode, with the listing
# (C line, BPF, NPU code) and what each pass did.
./build/npu compile build/examples/xdp/firewall.o -o "$out/firewall.npu" -S \
  --listing "$out/firewall.s" --stats
echo "listing: $out/firewall.s (first lines below)"
sed -n 1,16p "$out/firewall.s"
echo "..."
# The main job: C source to a simulated 100GbE card and back, with the
# example's maps and traffic profile; outputs (pcaps, maps, stats, a Perfetto
# trace) in build/demo/run.
./build/npu run examples/xdp/firewall.c --out "$out/run" --trace "$out/run/trace.json"
