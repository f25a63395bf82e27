#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then take a real XDP
# program (examples/xdp/firewall.c), show what the front end finds in it, and
# run a generated traffic mix through the reference interpreter; then
# compile it for the NPU and show the listing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
ex=build/examples/xdp/firewall.o
out=build/demo
mkdir -p "$out"
./build/npu objdump "$ex" >"$out/objdump.txt"
head -40 "$out/objdump.txt"
echo "..."
./build/npu gen --profile examples/xdp/firewall.traffic.json --count 10000 -o "$out/traffic.pcap"
./build/npu interp "$ex" --pcap "$out/traffic.pcap" --maps examples/xdp/firewall.maps.json --out "$out"
# The offload compiler: verify and compile the same object to NPU microcode,
# with the listing (C line, BPF, NPU code) and what each pass did.
./build/npu compile "$ex" -o "$out/firewall.npu" -S --listing "$out/firewall.s" --stats
echo "listing: $out/firewall.s (first lines below)"
sed -n 1,24p "$out/firewall.s"
