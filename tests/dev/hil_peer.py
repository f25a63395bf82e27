#!/usr/bin/python3
"""hil_peer.py: the traffic ends and frame checks of tests/dev/hil_test.sh.

Every subcommand prints its result on stdout (JSON, or a few words for the
shell to `read`) and, when a check fails, one line per problem on stderr
("expected ..., seen ...") and exits 1.

Traffic (kernel sockets):
  udp-recv  --bind IP --ports P[,P..] --ready FILE --stop FILE
            Receives datagrams until FILE --stop exists (then 0.3 s more);
            prints {"PORT": {"seqs": [...], "corrupt": n}}.
  udp-send  --dst IP --port P --count N --size S [--interval-ms I] [--first-seq K]
            Prints {"sent": N, "times": [unix time of each send]}.
  tcp-recv  --bind IP --port P --ready FILE: one connection, read to EOF;
            prints {"bytes": n, "sha256": h}.
  tcp-send  --dst IP --port P --bytes N: prints {"bytes", "sha256", "seconds"}.
Datagram payload: "HIL1", nonce u32, seq u32, port u16, then bytes derived
from seq, so corruption is seen.

Frames (a packet socket on an interface; crafted IPv4/UDP):
  lb-plan   the flow hash of examples/xdp/lb.c: two source ports whose ring
            slots differ.
  lb-probe  sends UDP to a VIP, captures the IP-in-IP frames the card sends
            back, checks every header field, decapsulates them into a TUN
            device so that a UDP socket on the VIP receives the payload.
  router-probe  sends UDP frames, captures what comes back, checks MACs, TTL,
            checksum and that nothing else changed.
JSON readers:
  card NAME FIELD   a field of `npu dev list -j` (stdin), e.g. stats.wire_rx
  get PATH          a field of any JSON document (stdin), e.g. 0.returned
  stats NAME        "wire_rx to_host from_host wire_tx drop bad_frame"
  entry KEY         the u64 words of the value under KEY (bytes "10 9 0 1") in
                    bpftool/npu -j lookup or dump output (stdin), percpu
                    copies summed; "absent" when the key is not there.
  keys              the number of entries of a -j dump (stdin).
  live-check        the firewall's live-update timeline (see below).
"""
import argparse
import fcntl
import hashlib
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

MAGIC = b"HIL1"
HDR = struct.Struct("!4sIIH")  # magic, nonce, seq, port
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
M32 = 0xFFFFFFFF


def die(msg):
    print(f"hil_peer: {msg}", file=sys.stderr)
    sys.exit(1)


def body(seq, n):
    return bytes((seq * 7 + i) & 0xFF for i in range(n))


def payload(nonce, seq, port, size):
    if size < HDR.size:
        die(f"a datagram needs at least {HDR.size} bytes, not {size}")
    return HDR.pack(MAGIC, nonce, seq, port) + body(seq, size - HDR.size)


def parse_payload(data):
    """(nonce, seq, port, intact) or None for a datagram that is not ours."""
    if len(data) < HDR.size:
        return None
    magic, nonce, seq, port = HDR.unpack_from(data)
    if magic != MAGIC:
        return None
    return nonce, seq, port, data[HDR.size:] == body(seq, len(data) - HDR.size)


# ---------------------------------------------------------------- traffic

def udp_recv(a):
    ports = [int(p) for p in a.ports.split(",")]
    socks = {}
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((a.bind, p))
        socks[s] = p
    out = {str(p): {"seqs": [], "corrupt": 0, "foreign": 0} for p in ports}
    open(a.ready, "w").close()
    deadline = time.time() + a.max_seconds
    stop_at = None
    while True:
        now = time.time()
        if stop_at is None and os.path.exists(a.stop):
            stop_at = now + 0.3
        if (stop_at is not None and now >= stop_at) or now >= deadline:
            break
        r, _, _ = select.select(list(socks), [], [], 0.05)
        for s in r:
            data = s.recv(65536)
            rec = out[str(socks[s])]
            p = parse_payload(data)
            if p is None or p[2] != socks[s]:
                rec["foreign"] += 1
                continue
            rec["seqs"].append(p[1])
            if not p[3]:
                rec["corrupt"] += 1
    print(json.dumps(out))


def udp_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sizes = [int(x) for x in a.size.split(",")]
    times = []
    for i in range(a.count):
        seq = a.first_seq + i
        times.append(time.time())
        s.sendto(payload(a.nonce, seq, a.port, sizes[i % len(sizes)]), (a.dst, a.port))
        if a.interval_ms:
            time.sleep(a.interval_ms / 1000.0)
    print(json.dumps({"sent": a.count, "first_seq": a.first_seq, "times": times}))


def stream(n, seed):
    return random.Random(seed).randbytes(n)


def tcp_recv(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(1)
    ls.settimeout(a.timeout)
    open(a.ready, "w").close()
    try:
        c, _ = ls.accept()
    except socket.timeout:
        die(f"tcp-recv: no connection on {a.bind}:{a.port} within {a.timeout} s")
    c.settimeout(a.timeout)
    h = hashlib.sha256()
    n = 0
    while True:
        try:
            d = c.recv(1 << 16)
        except socket.timeout:
            die(f"tcp-recv: stalled after {n} bytes ({a.timeout} s without data)")
        if not d:
            break
        h.update(d)
        n += len(d)
    c.close()
    print(json.dumps({"bytes": n, "sha256": h.hexdigest()}))


def tcp_send(a):
    data = stream(a.bytes, a.seed)
    t = time.time()
    try:
        s = socket.create_connection((a.dst, a.port), timeout=a.timeout)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):  # the receiver closes once it has read everything
            pass
    except OSError as e:
        die(f"tcp-send to {a.dst}:{a.port}: {e}")
    print(json.dumps({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                      "seconds": round(time.time() - t, 3)}))


# ---------------------------------------------------------------- frames

def mac_bytes(m):
    b = bytes(int(x, 16) for x in m.split(":"))
    if len(b) != 6:
        die(f"bad MAC {m}")
    return b


def mac_text(b):
    return ":".join(f"{x:02x}" for x in b)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, l4, ttl=64, tos=0, ident=0x1234):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(l4), ident, 0, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4


def udp(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(u))
    c = csum(pseudo + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def ether(dst, src, payload_):
    return dst + src + struct.pack("!H", ETH_P_IP) + payload_


class Capture:
    """A packet socket on one interface that keeps incoming frames."""

    def __init__(self, ifname):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((ifname, 0))
        self.frames = []

    def send(self, frame):
        self.s.send(frame)

    def poll(self, seconds):
        end = time.time() + seconds
        while True:
            left = end - time.time()
            if left <= 0:
                return
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return
            data, addr = self.s.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:
                self.frames.append(data)

    def wait(self, pred, want, seconds):
        """Until `want` frames satisfy pred or seconds pass; then 0.3 s more."""
        end = time.time() + seconds
        while time.time() < end and sum(1 for f in self.frames if pred(f)) < want:
            self.poll(0.05)
        self.poll(0.3)


def report_errors(errors, most=8):
    for e in errors[:most]:
        print(e, file=sys.stderr)
    if len(errors) > most:
        print(f"... and {len(errors) - most} more", file=sys.stderr)
    sys.exit(1 if errors else 0)


def rol32(w, s):
    return ((w << s) | (w >> (32 - s))) & M32


def lb_flow_hash(saddr, daddr, sport, dport, proto):
    """examples/xdp/lb.c's flow_hash() on the raw (network order) words as a
    little-endian machine loads them."""
    le = lambda b: struct.unpack("<I", b)[0]
    a = le(socket.inet_aton(saddr))
    b = le(socket.inet_aton(daddr))
    sp = struct.unpack("<H", struct.pack("!H", sport))[0]
    dp = struct.unpack("<H", struct.pack("!H", dport))[0]
    c = (((sp << 16) | dp) ^ proto) & M32
    init = (0xDEADBEEF + (3 << 2)) & M32
    a, b, c = (a + init) & M32, (b + init) & M32, (c + init) & M32
    c ^= b; c = (c - rol32(b, 14)) & M32
    a ^= c; a = (a - rol32(c, 11)) & M32
    b ^= a; b = (b - rol32(a, 25)) & M32
    c ^= b; c = (c - rol32(b, 16)) & M32
    a ^= c; a = (a - rol32(c, 4)) & M32
    b ^= a; b = (b - rol32(a, 14)) & M32
    c ^= b; c = (c - rol32(b, 24)) & M32
    return c


RING_SIZE = 64


def lb_plan(a):
    s1 = a.sport
    slot1 = lb_flow_hash(a.client, a.vip, s1, a.vport, 17) & (RING_SIZE - 1)
    for s2 in range(s1 + 1, s1 + 1000):
        slot2 = lb_flow_hash(a.client, a.vip, s2, a.vport, 17) & (RING_SIZE - 1)
        if slot2 != slot1:
            print(s1, slot1, s2, slot2)
            return
    die("no second source port with another ring slot")


def open_tun(name):
    TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    for key, val in (("rp_filter", "0"), ("accept_local", "1")):
        with open(f"/proc/sys/net/ipv4/conf/{name}/{key}", "w") as f:
            f.write(val)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    return fd


def lb_probe(a):
    errors = []
    err = errors.append
    card_mac, peer_mac, be_mac = mac_bytes(a.card_mac), mac_bytes(a.peer_mac), mac_bytes(a.backend_mac)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind((a.vip, a.vport))
    tun = open_tun(a.tun)
    cap = Capture(a.ifname)
    nonce = random.getrandbits(32)
    flows = []  # (sport, count, expect)
    for spec in a.flow:
        sport, count, expect = spec.split(":")
        flows.append((int(sport), int(count), expect))
    sent = {}  # (sport, seq) -> inner IP packet
    seq = 0
    for sport, count, _ in flows:
        for _ in range(count):
            inner = ipv4(a.client, a.vip, 17,
                         udp(a.client, a.vip, sport, a.vport, payload(nonce, seq, a.vport, a.size)),
                         ttl=64, tos=a.tos, ident=seq)
            sent[(sport, seq)] = inner
            cap.send(ether(card_mac, peer_mac, inner))
            seq += 1
            time.sleep(0.002)

    def ours(f):
        if len(f) < 14 + 20 + 20 + 8 + HDR.size or f[12:14] != b"\x08\x00" or f[23] != 4:
            return False
        p = parse_payload(f[14 + 20 + 28:])
        return p is not None and p[0] == nonce

    want = sum(c for _, c, e in flows if e == "tx")
    cap.wait(ours, want, 5.0)
    got = {}  # sport -> frames
    for f in cap.frames:
        if not ours(f):
            continue
        inner = f[34:]
        sport = struct.unpack("!H", inner[20:22])[0]
        _, s, _, _ = parse_payload(inner[28:])
        got.setdefault(sport, []).append(f)
        key = (sport, s)
        if key not in sent:
            err(f"lb: a frame for a packet never sent (sport {sport} seq {s})")
            continue
        want_inner = sent[key]
        where = f"lb: flow sport {sport} seq {s}"
        if f[0:6] != be_mac:
            err(f"{where}: Ethernet destination: expected {mac_text(be_mac)} (backend), seen {mac_text(f[0:6])}")
        if f[6:12] != card_mac:
            err(f"{where}: Ethernet source: expected {mac_text(card_mac)} (the frame's original destination), seen {mac_text(f[6:12])}")
        o = f[14:34]
        (vihl, tos, tot, ident, frag, ttl, proto, chk, src, dst) = struct.unpack("!BBHHHBBH4s4s", o)
        expect = {"version/ihl": (0x45, vihl), "tos": (a.tos, tos),
                  "total length": (20 + len(want_inner), tot), "id": (0, ident),
                  "frag_off": (0, frag), "ttl": (a.ttl, ttl), "protocol": (4, proto),
                  "source": (a.lb_src, socket.inet_ntoa(src)),
                  "destination": (a.backend_ip, socket.inet_ntoa(dst))}
        for field, (e, s_) in expect.items():
            if e != s_:
                err(f"{where}: outer IPv4 {field}: expected {e}, seen {s_}")
        if csum(o) != 0:
            fixed = o[:10] + b"\0\0" + o[12:]
            err(f"{where}: outer IPv4 checksum 0x{chk:04x} is wrong, expected 0x{csum(fixed):04x}")
        if len(f) != 34 + len(want_inner):
            err(f"{where}: frame length: expected {34 + len(want_inner)}, seen {len(f)}")
        if inner[:len(want_inner)] != want_inner:
            err(f"{where}: the inner packet changed: expected {want_inner.hex()}, seen {inner[:len(want_inner)].hex()}")
        os.write(tun, inner[:len(want_inner)])  # the backend's tunnel end
    # What the "backend" application received on the VIP.
    delivered = {}
    end = time.time() + 1.0
    while time.time() < end:
        r, _, _ = select.select([listener], [], [], 0.1)
        if not r:
            continue
        data, (host, port) = listener.recvfrom(65536)
        p = parse_payload(data)
        if p is None or p[0] != nonce:
            continue
        delivered.setdefault(port, 0)
        delivered[port] += 1
        key = (port, p[1])
        if host != a.client or key not in sent:
            err(f"lb: the VIP socket got seq {p[1]} from {host}:{port}, expected from {a.client}")
        elif data != sent[key][28:]:
            err(f"lb: the VIP socket got a different payload for seq {p[1]}")
    report = {}
    for sport, count, expect in flows:
        n, d = len(got.get(sport, [])), delivered.get(sport, 0)
        frame_len = 14 + len(next(v for (sp, _), v in sent.items() if sp == sport))
        report[str(sport)] = {"sent": count, "encapsulated": n, "delivered": d, "frame_len": frame_len}
        if expect == "tx":
            if n != count:
                err(f"lb: flow sport {sport}: expected {count} encapsulated frames back on {a.ifname}, seen {n}")
            if d != count:
                err(f"lb: flow sport {sport}: expected {count} datagrams decapsulated to {a.vip}:{a.vport}, seen {d}")
        else:
            if n or d:
                err(f"lb: flow sport {sport} (ring slot without backend): expected no frame back, seen {n} (delivered {d})")
    print(json.dumps(report))
    report_errors(errors)


def router_probe(a):
    errors = []
    err = errors.append
    card_mac, peer_mac = mac_bytes(a.card_mac), mac_bytes(a.peer_mac)
    cap = Capture(a.ifname)
    nonce = random.getrandbits(32)
    probes = []  # (daddr, ttl, count, expect dmac, expect smac)
    for spec in a.probe:
        daddr, ttl, count, expect = spec.split(",")
        if expect == "none":
            probes.append((daddr, int(ttl), int(count), None, None))
        else:
            dmac, smac = expect.split("/")
            probes.append((daddr, int(ttl), int(count), mac_bytes(dmac), mac_bytes(smac)))
    sent = {}
    seq = 0
    for pi, (daddr, ttl, count, _, _) in enumerate(probes):
        for _ in range(count):
            pkt = ipv4(a.saddr, daddr, 17,
                       udp(a.saddr, daddr, 40000 + pi, 9, payload(nonce, seq, 9, a.size)),
                       ttl=ttl, ident=seq)
            frame = ether(card_mac, peer_mac, pkt)
            sent[seq] = (pi, frame)
            cap.send(frame)
            seq += 1
            time.sleep(0.002)

    def ours(f):
        if len(f) < 14 + 28 + HDR.size or f[12:14] != b"\x08\x00" or f[23] != 17:
            return False
        p = parse_payload(f[42:])
        return p is not None and p[0] == nonce

    want = sum(c for _, _, c, d, _ in probes if d is not None)
    cap.wait(ours, want, 5.0)
    back = [0] * len(probes)
    for f in cap.frames:
        if not ours(f):
            continue
        s = parse_payload(f[42:])[1]
        if s not in sent:
            err(f"router: a frame for a packet never sent (seq {s})")
            continue
        pi, orig = sent[s]
        daddr, ttl, _, dmac, smac = probes[pi]
        back[pi] += 1
        where = f"router: to {daddr} ttl {ttl} seq {s}"
        if dmac is None:
            continue  # counted and reported below
        if f[0:6] != dmac:
            err(f"{where}: Ethernet destination: expected {mac_text(dmac)}, seen {mac_text(f[0:6])}")
        if f[6:12] != smac:
            err(f"{where}: Ethernet source: expected {mac_text(smac)}, seen {mac_text(f[6:12])}")
        if len(f) != len(orig):
            err(f"{where}: frame length: expected {len(orig)}, seen {len(f)}")
        if f[22] != ttl - 1:
            err(f"{where}: TTL: expected {ttl - 1}, seen {f[22]}")
        hdr = f[14:34]
        want_hdr = bytearray(orig[14:34])
        want_hdr[8] = ttl - 1
        want_hdr[10:12] = b"\0\0"
        want_hdr[10:12] = struct.pack("!H", csum(bytes(want_hdr)))
        if csum(hdr) != 0:
            err(f"{where}: IPv4 checksum 0x{hdr[10]:02x}{hdr[11]:02x} is wrong, expected 0x{want_hdr[10]:02x}{want_hdr[11]:02x}")
        if hdr != bytes(want_hdr):
            err(f"{where}: IPv4 header: expected {bytes(want_hdr).hex()}, seen {hdr.hex()}")
        if f[34:] != orig[34:]:
            err(f"{where}: the UDP header or payload changed")
    report = []
    for pi, (daddr, ttl, count, dmac, _) in enumerate(probes):
        report.append({"daddr": daddr, "ttl": ttl, "sent": count, "returned": back[pi],
                       "frame_len": len(sent[next(s for s in sent if sent[s][0] == pi)][1])})
        if dmac is not None and back[pi] != count:
            err(f"router: to {daddr} ttl {ttl}: expected {count} frames sent back (XDP_TX), seen {back[pi]}")
        if dmac is None and back[pi]:
            err(f"router: to {daddr} ttl {ttl}: expected no frame sent back, seen {back[pi]}")
    print(json.dumps(report))
    report_errors(errors)


# ---------------------------------------------------------------- JSON readers

def card_json(name):
    for c in json.load(sys.stdin):
        if c.get("name") == name:
            return c
    die(f"card {name} is not in `npu dev list -j`")


def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if isinstance(v, (dict, list)) or v is None else str(v)


def walk(v, path):
    for part in path.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    return v


def card_field(a):
    print(show(walk(card_json(a.name), a.field)))


def get(a):
    print(show(walk(json.load(sys.stdin), a.path)))


def stats(a):
    s = card_json(a.name)["stats"]
    print(" ".join(str(s[k]) for k in ("wire_rx", "to_host", "from_host", "wire_tx", "drop", "bad_frame")))


def bytes_of(arr):
    return bytes(int(x, 16) if isinstance(x, str) else int(x) for x in arr)


def words(v):
    """u64 words (little-endian); a value shorter than 8 bytes, or its tail, as one number."""
    w = [struct.unpack_from("<Q", v, i)[0] for i in range(0, len(v) - len(v) % 8, 8)]
    if len(v) % 8:
        w.append(int.from_bytes(v[len(v) - len(v) % 8:], "little"))
    return w


def entry(a):
    want = bytes(int(x, 0) for x in a.key.split())
    text = sys.stdin.read().strip()
    if not text or text == "null":
        print("absent")
        return
    doc = json.loads(text)
    for e in doc if isinstance(doc, list) else [doc]:
        if bytes_of(e["key"]) != want:
            continue
        if "values" in e:  # percpu: the copies summed
            total = None
            for c in e["values"]:
                w = words(bytes_of(c["value"]))
                total = w if total is None else [x + y for x, y in zip(total, w)]
            print(" ".join(str(x) for x in total or []))
        else:
            print(" ".join(str(x) for x in words(bytes_of(e["value"]))))
        return
    print("absent")


def keys(a):
    text = sys.stdin.read().strip()
    print(len(json.loads(text)) if text else 0)


def live_check(a):
    """The packets of one flow around a live src_block update: those sent
    before the update began passed, those sent after it returned were dropped,
    and once one was dropped none passed again. Prints "passed dropped"."""
    sent = json.load(open(a.sent))
    got = set(json.load(open(a.received))[str(a.port)]["seqs"])
    errors = []
    first = sent["first_seq"]
    dropped_seen = False
    passed = 0
    for i, t in enumerate(sent["times"]):
        seq = first + i
        ok = seq in got
        passed += ok
        if ok and dropped_seen:
            errors.append(f"live update: seq {seq} passed after an earlier one was dropped")
        dropped_seen |= not ok
        if t < a.t_begin and not ok:
            errors.append(f"live update: seq {seq}, sent {a.t_begin - t:.3f} s before the update began, was dropped (expected to pass)")
        if t > a.t_end and ok:
            errors.append(f"live update: seq {seq}, sent {t - a.t_end:.3f} s after the update returned, passed (expected to be dropped)")
    if passed == 0 or passed == len(sent["times"]):
        errors.append(f"live update: expected some of the {len(sent['times'])} packets to pass and the rest to be dropped, {passed} passed")
    print(passed, len(sent["times"]) - passed)
    for e in errors[:10]:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("udp-recv")
    c.add_argument("--bind", required=True)
    c.add_argument("--ports", required=True)
    c.add_argument("--ready", required=True)
    c.add_argument("--stop", required=True)
    c.add_argument("--max-seconds", type=float, default=60)
    c.set_defaults(fn=udp_recv)

    c = sub.add_parser("udp-send")
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--size", default="64", help="payload bytes, or a comma list used in turn")
    c.add_argument("--interval-ms", type=float, default=1.0)
    c.add_argument("--first-seq", type=int, default=0)
    c.add_argument("--nonce", type=int, default=0)
    c.set_defaults(fn=udp_send)

    c = sub.add_parser("tcp-recv")
    c.add_argument("--bind", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--ready", required=True)
    c.add_argument("--timeout", type=float, default=20)
    c.set_defaults(fn=tcp_recv)

    c = sub.add_parser("tcp-send")
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--bytes", type=int, required=True)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--timeout", type=float, default=20)
    c.set_defaults(fn=tcp_send)

    c = sub.add_parser("lb-plan")
    c.add_argument("--client", required=True)
    c.add_argument("--vip", required=True)
    c.add_argument("--vport", type=int, required=True)
    c.add_argument("--sport", type=int, required=True)
    c.set_defaults(fn=lb_plan)

    c = sub.add_parser("lb-probe")
    for k in ("--ifname", "--card-mac", "--peer-mac", "--client", "--vip", "--backend-ip",
              "--backend-mac", "--lb-src", "--tun"):
        c.add_argument(k, required=True)
    c.add_argument("--vport", type=int, required=True)
    c.add_argument("--ttl", type=int, required=True)
    c.add_argument("--tos", type=int, default=0)
    c.add_argument("--size", type=int, default=64)
    c.add_argument("--flow", action="append", required=True, help="SPORT:COUNT:tx|drop")
    c.set_defaults(fn=lb_probe)

    c = sub.add_parser("router-probe")
    for k in ("--ifname", "--card-mac", "--peer-mac", "--saddr"):
        c.add_argument(k, required=True)
    c.add_argument("--size", type=int, default=64)
    c.add_argument("--probe", action="append", required=True,
                   help="DADDR,TTL,COUNT,DMAC/SMAC (sent back with these MACs) or DADDR,TTL,COUNT,none")
    c.set_defaults(fn=router_probe)

    c = sub.add_parser("card")
    c.add_argument("name")
    c.add_argument("field")
    c.set_defaults(fn=card_field)

    c = sub.add_parser("get")
    c.add_argument("path")
    c.set_defaults(fn=get)

    c = sub.add_parser("stats")
    c.add_argument("name")
    c.set_defaults(fn=stats)

    c = sub.add_parser("entry")
    c.add_argument("key")
    c.set_defaults(fn=entry)

    c = sub.add_parser("keys")
    c.set_defaults(fn=keys)

    c = sub.add_parser("live-check")
    c.add_argument("--sent", required=True)
    c.add_argument("--received", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--t-begin", type=float, required=True)
    c.add_argument("--t-end", type=float, required=True)
    c.set_defaults(fn=live_check)

    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
