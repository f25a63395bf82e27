#!/usr/bin/python3
"""The simulated card in the hardware-in-the-loop set-up (docs/shim.md):

  ns A (10.77.0.1, veth CARDp) -- wire CARDw -- card -- TAP CARD (10.77.0.2, ns B)

1. Packet rate: A sends UDP datagrams as fast as one socket can; B counts
   what arrives through the card (firewall.o loaded, nothing blocked).
2. Host map update latency: the shim's round trip for a map operation (from
   the request in the BAR to the card's reply), the whole `npu dev map update`
   command, and the effect on live traffic: A sends numbered datagrams at a
   steady rate while the host blocks A's address; the first datagram that
   does not arrive was sent how long after the update began, and was every
   datagram sent after the command returned dropped?

Needs root. Usage: bench/dev_bench.py [--npu build/npu] [--obj DIR] [--json]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

CARD = "bn%d" % (os.getpid() % 10000)
NS_A, NS_B = CARD + "a", CARD + "b"


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True).stdout


def in_ns(ns, role, *args):
    """Runs this script's `role` in network namespace ns; returns the process."""
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, __file__, "--role", role,
                             *map(str, args)], stdout=subprocess.PIPE, text=True)


def result(p):
    out, _ = p.communicate()
    return json.loads(out)


def receiver(port, stop_after_idle=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    s.bind(("0.0.0.0", port))
    s.settimeout(stop_after_idle)
    got = {}
    try:
        while True:
            d = s.recv(2048)
            got[int.from_bytes(d[:4], "big")] = time.monotonic()
    except socket.timeout:
        pass
    return {str(k): v for k, v in got.items()}


def sender(dst, port, n, rate=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    sent = []
    t0 = time.monotonic()
    for i in range(n):
        if rate:  # paced in 1 ms steps, sleeping between them: no core spins
            due = t0 + i / rate
            now = time.monotonic()
            if due > now + 0.001:
                time.sleep(due - now)
        sent.append(time.monotonic())
        s.sendto(i.to_bytes(4, "big") + b"\0" * 14, (dst, port))
    return sent


def card_stats(npu):
    return json.loads(sh(npu, "dev", "list", "-j"))[0]["stats"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npu", default="build/npu")
    ap.add_argument("--obj", default="build/examples/xdp")
    ap.add_argument("--packets", type=int, default=100000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--role", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.role:  # a peer in a namespace: recv PORT | send DST PORT N RATE
        if a.role[0] == "recv":
            print(json.dumps(receiver(int(a.role[1]))))
        else:
            print(json.dumps(sender(a.role[1], int(a.role[2]), int(a.role[3]),
                                    float(a.role[4]) or None)))
        return 0
    if os.geteuid() != 0:
        print("dev_bench: needs root (netns, TAP, bpf)", file=sys.stderr)
        return 77
    npu = os.path.abspath(a.npu)
    res = {}
    try:
        sh(npu, "dev", "start", CARD)
        for ns in (NS_A, NS_B):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "set", CARD + "p", "netns", NS_A)
        sh("ip", "link", "set", CARD, "netns", NS_B)
        sh("ip", "-n", NS_A, "addr", "add", "10.77.0.1/24", "dev", CARD + "p")
        sh("ip", "-n", NS_A, "link", "set", CARD + "p", "up")
        sh("ip", "-n", NS_B, "addr", "add", "10.77.0.2/24", "dev", CARD)
        sh("ip", "-n", NS_B, "link", "set", CARD, "up")
        # Room for a burst in the receiving socket (namespaced since Linux 5.x).
        sh("ip", "netns", "exec", NS_B, "sysctl", "-qw", "net.core.rmem_max=33554432", check=False)
        sh("ip", "netns", "exec", NS_A, "ping", "-c", "1", "-W", "5", "10.77.0.2")
        sh(npu, "dev", "prog", "load", os.path.join(a.obj, "firewall.o"), "dev", CARD)

        # 1. Rate.
        before = card_stats(npu)
        rp = in_ns(NS_B, "recv", 9000)
        time.sleep(0.3)
        sent = result(in_ns(NS_A, "send", "10.77.0.2", 9000, a.packets, 0))
        got = result(rp)
        after = card_stats(npu)
        span = max(got.values()) - min(got.values()) if len(got) > 1 else 0
        res["rate"] = {
            "offered": a.packets,
            "offered_pps": round(a.packets / (sent[-1] - sent[0])),
            "received": len(got),
            "received_pps": round(len(got) / span) if span else 0,
            "card_to_host": after["to_host"] - before["to_host"],
            "wire_overrun": after["wire_overrun"] - before["wire_overrun"],
            "ring_full": after["ring_full"] - before["ring_full"],
            "batches": after["batches"] - before["batches"],
            "card_cycles_per_packet": round(
                (after["pkt_cycles"] - before["pkt_cycles"]) / max(1, len(got)), 1),
        }

        # 2. Update latency: the shim's round trip over many updates, and
        # the command's wall time.
        key = ["key", "10", "77", "0", "9"]
        value = ["value"] + ["0"] * 16
        walls = []
        for _ in range(100):
            t = time.monotonic()
            sh(npu, "dev", "map", "update", "name", "src_block", *key, *value)
            walls.append(time.monotonic() - t)
        walls.sort()
        ops = card_stats(npu)["map_ops"]
        res["map_update"] = {
            "shim_round_trip_p50_us": round(ops["p50_us"], 1),
            "shim_round_trip_p99_us": round(ops["p99_us"], 1),
            "command_p50_ms": round(walls[50] * 1e3, 2),
            "command_p99_ms": round(walls[98] * 1e3, 2),
        }
        # ... and on live traffic at 20,000 datagrams/s.
        rate, n = 20000, 40000
        rp = in_ns(NS_B, "recv", 9001)
        time.sleep(0.3)
        sp = in_ns(NS_A, "send", "10.77.0.2", 9001, n, rate)
        time.sleep(n / rate / 2)
        t0 = time.monotonic()
        sh(npu, "dev", "map", "update", "name", "src_block", "key", "10", "77", "0", "1", *value)
        t1 = time.monotonic()
        sent, got = result(sp), {int(k): v for k, v in result(rp).items()}
        passed = sorted(got)
        first_blocked = passed[-1] + 1 if passed else 0
        after_return = [i for i, t in enumerate(sent) if t > t1]
        leaked = [i for i in after_return if i in got]
        res["live_update"] = {
            "rate_pps": rate,
            "command_ms": round((t1 - t0) * 1e3, 2),
            "first_blocked_sent_after_ms": round((sent[first_blocked] - t0) * 1e3, 2)
            if first_blocked < len(sent) else None,
            "sent_after_return": len(after_return),
            "passed_after_return": len(leaked),
        }
    finally:
        subprocess.run([npu, "dev", "stop", CARD], capture_output=True)
        for ns in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        r, m, l = res["rate"], res["map_update"], res["live_update"]
        print(f"packet rate through the card (firewall, 60-byte UDP frames): "
              f"{r['received_pps']:,} packets/s received of {r['offered_pps']:,} offered "
              f"({r['received']:,}/{r['offered']:,}; the card passed {r['card_to_host']:,}; wire overruns {r['wire_overrun']}, "
              f"host ring full {r['ring_full']}; {r['batches']} batches; "
              f"{r['card_cycles_per_packet']} thread cycles per packet, stalls included)")
        print(f"host map update: shim round trip p50 {m['shim_round_trip_p50_us']} us, "
              f"p99 {m['shim_round_trip_p99_us']} us; `npu dev map update` p50 "
              f"{m['command_p50_ms']} ms, p99 {m['command_p99_ms']} ms")
        print(f"live update at {l['rate_pps']:,} packets/s: the command took "
              f"{l['command_ms']} ms; the first dropped datagram was sent "
              f"{l['first_blocked_sent_after_ms']} ms after it began; "
              f"{l['passed_after_return']} of {l['sent_after_return']} datagrams sent after it "
              f"returned got through")
    return 0


if __name__ == "__main__":
    sys.exit(main())
