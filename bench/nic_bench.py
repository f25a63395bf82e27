#!/usr/bin/env python3
"""NIC model figures for docs/bench.md: every example on the default card at
64 bytes and line rate (modelled Mpps, latency p50/p99, the bottleneck), and
the simulator's own speed (simulated packets per host second) at 1, 16 and
48 cores. Runs build/npu; the modelled figures are deterministic, the speed
is wall clock (median of three runs)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPU = os.path.join(ROOT, "build", "npu")
EXAMPLES = ["parser", "firewall", "lb", "router", "vlan", "icmp_echo", "ratelimit", "loops",
            "calls", "tailcall"]
TRAFFIC = "size=64,flows=1024,rate=line,packets=20000"


def sim(image, example, *extra, traffic=TRAFFIC):
    args = [NPU, "sim", image, "--traffic", traffic, "--json", "--no-progress",
            "--maps", os.path.join(ROOT, "examples/xdp", example + ".maps.json"),
            "--profile", os.path.join(ROOT, "examples/xdp", example + ".traffic.json"), *extra]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def main():
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        images = {}
        for ex in EXAMPLES:
            images[ex] = os.path.join(tmp, ex + ".npu")
            subprocess.run([NPU, "compile", os.path.join(ROOT, "build/examples/xdp", ex + ".o"),
                            "-o", images[ex]], check=True, capture_output=True)
        print(f"Default card (sim/nic/nic.yaml), traffic {TRAFFIC} with each example's "
              "profile and maps")
        print()
        print("| example | offered Mpps | achieved Mpps | p50 ns | p99 ns | verdicts "
              "(tx/host/redirect/drop) | cycles/packet | bottleneck |")
        print("|---|---:|---:|---:|---:|---|---:|---|")
        for ex in EXAMPLES:
            j = sim(images[ex], ex)
            p = j["packets"]
            print(f"| {ex} | {j['offered']['mpps']:.2f} | {j['achieved']['mpps']:.2f} | "
                  f"{j['latency_ns']['p50']} | {j['latency_ns']['p99']} | "
                  f"{p['tx']}/{p['host']}/{p['redirect']}/{p['dropped']} | "
                  f"{j['cores']['cycles_per_packet']:.0f} | "
                  f"{j.get('bottleneck', 'none (line rate)' if j['line_rate'] else 'none')} |")
        print()
        print("Simulator speed: firewall, 64-byte frames offered at 95% of what each card "
              "sustains (so every packet is simulated through the program), 8 threads per core, "
              "median of 3 runs")
        print()
        print("| cores | offered Mpps | simulated packets per host second | simulated cycles per "
              "host second |")
        print("|---:|---:|---:|---:|")
        for cores in [1, 16, 48]:
            cap = sim(images["firewall"], "firewall", "--cores", str(cores))["achieved"]["mpps"]
            rate = f"{0.95 * cap:.2f}Mpps"
            traffic = f"size=64,flows=1024,rate={rate},packets=20000"
            runs = [sim(images["firewall"], "firewall", "--cores", str(cores), traffic=traffic)
                    for _ in range(1 if quick else 3)]
            pps = statistics.median(r["simulator"]["packets_per_second"] for r in runs)
            cps = statistics.median(r["simulator"]["cycles_per_second"] for r in runs)
            print(f"| {cores} | {0.95 * cap:.2f} | {pps:,.0f} | {cps:,.0f} |")

if __name__ == "__main__":
    main()
