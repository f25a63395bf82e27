#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then take a real XDP
# program (examples/xdp/firewall.c), show what the front end finds in it, and
# run a generated traffic mix through the reference interpreter.
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
