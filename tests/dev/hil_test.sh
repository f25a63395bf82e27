#!/bin/bash
# tests/dev/hil_test.sh: hardware-in-the-loop tests of the simulated card
# (`npu dev`, docs: cli/cmd_dev.cpp, driver/shim.cpp): real kernel traffic
# between two network namespaces goes through the card and the XDP program
# it runs, and the host's view of it (map commands, bpftool on the pinned
# mirrors, `npu dev list -j` counters) is checked exactly.
#
#   hil_test.sh CASE --npu NPU --examples DIR [--clang CLANG] [--bpf-cflags "FLAGS"]
#                    [--bpftool BPFTOOL]
#
# CASE: ping, udp_tcp, firewall, lb, router_tx, offload_checks.
#
# Topology (every case its own names, so that cases run in parallel):
#   ns A: CARDp 10.9.0.1/24 ==veth== CARDw (the card's wire) -> XDP on the card
#         -> PASS: TAP CARD in ns B 10.9.0.2/24;  TX: back out of the wire to A.
# The card's run dir (NPU_RUN_DIR) is a fresh temporary directory; its map
# mirrors are /sys/fs/bpf/npu/CARD.
#
# Exit status: 0 passed; 77 skipped, with one line saying why (not root, no
# network namespaces, no TUN/TAP, bpf() refused, a tool missing); 1 failed,
# with one "FAIL: what: expected X, seen Y" line per failed check (a case
# goes on after a failed check when later checks still mean something).
set -euo pipefail

CASE=${1:-}
[ $# -gt 0 ] && shift
NPU="" EXAMPLES="" CLANG=clang BPF_CFLAGS="-O2 -g -target bpf" BPFTOOL=bpftool
while [ $# -gt 0 ]; do
  case $1 in
    --npu) NPU=$2; shift 2 ;;
    --examples) EXAMPLES=$2; shift 2 ;;
    --clang) CLANG=$2; shift 2 ;;
    --bpf-cflags) BPF_CFLAGS=$2; shift 2 ;;
    --bpftool) BPFTOOL=$2; shift 2 ;;
    *) echo "hil_test.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case $CASE in
  ping) TAG=p ;; udp_tcp) TAG=u ;; firewall) TAG=f ;; lb) TAG=l ;; router_tx) TAG=r ;;
  offload_checks) TAG=o ;; ping_rtl) TAG=v ;;
  *) echo "usage: hil_test.sh {ping|ping_rtl|udp_tcp|firewall|lb|router_tx|offload_checks} --npu NPU --examples DIR ..." >&2
     exit 2 ;;
esac
[ -x "$NPU" ] || { echo "hil_test.sh: --npu '$NPU' is not an executable" >&2; exit 2; }
[ -d "$EXAMPLES" ] || { echo "hil_test.sh: --examples '$EXAMPLES' is not a directory" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
PEER=("$PY" "$HERE/hil_peer.py")

# ------------------------------------------------------------ reporting

FAILS=()
CHECKS=0
skip() { echo "SKIP hil.$CASE: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; FAILS+=("$*"); }
T0=$(date +%s%N)
ok() { echo "ok [$(( ($(date +%s%N) - T0) / 1000000 )) ms]: $*"; }
# A failure that later steps cannot go on from.
die() { fail "$*"; exit 1; }
# expect WHAT EXPECTED SEEN
expect() {
  CHECKS=$((CHECKS + 1))
  if [ "$2" == "$3" ]; then ok "$1 = $3"; else fail "$1: expected '$2', seen '$3'"; fi
}
# expect_true WHAT COND...: the condition is a test(1) expression.
expect_true() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if [ "$@" ]; then ok "$what"; else fail "$what: [ $* ] does not hold"; fi
}

# ------------------------------------------------------------ can it run?

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, a TAP netdev, bpf())"
[ -x "$PY" ] || skip "$PY is missing (scripts/setup.sh installs it)"
for tool in ip "$BPFTOOL"; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/setup.sh installs it)"
done
case $CASE in
  ping|ping_rtl) command -v ping >/dev/null || skip "ping is missing (iputils-ping, scripts/setup.sh)" ;;
  udp_tcp) command -v ethtool >/dev/null || skip "ethtool is missing (scripts/setup.sh)" ;;
  offload_checks) command -v setpriv >/dev/null || skip "setpriv is missing (util-linux)" ;;
esac
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing: no TAP netdev for the card"

ID=$$
CARD=h$TAG$ID                      # <= 12 characters: h + tag + pid
NSA=hil-$CASE-$ID-a
NSB=hil-$CASE-$ID-b
PIN=/sys/fs/bpf/npu/$CARD
RUN=$(mktemp -d /tmp/hil-run.XXXXXX)
WORK=$(mktemp -d /tmp/hil-work.XXXXXX)
KPIN=/sys/fs/bpf/hil_${CASE}_$ID  # a program pinned by bpftool itself (offload_checks)
export NPU_RUN_DIR=$RUN
CARD_STARTED="" NS_MADE="" DEV_PID="" SHIM_PID=""
BG=()

cleanup() {
  local rc=$?
  set +e
  rm -f "$KPIN" 2>/dev/null
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$CARD_STARTED" ] && [ -S "$RUN/$CARD/ctl.sock" ]; then
    if ! timeout 20 "$NPU" dev stop "$CARD" >/dev/null 2>&1; then
      echo "cleanup: npu dev stop $CARD failed; killing its processes" >&2
    fi
  fi
  # Ours only: the card's processes are named npu-card-CARD / npu-shim-CARD
  # (cut to 15 characters).
  local p want
  for p in $DEV_PID $SHIM_PID; do
    for _ in $(seq 40); do [ -e "/proc/$p" ] || break; sleep 0.05; done
    [ -e "/proc/$p" ] || continue
    for want in "npu-card-$CARD" "npu-shim-$CARD"; do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" == "${want:0:15}" ] && kill -9 "$p"
    done
  done
  if [ -n "$NS_MADE" ]; then
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
  fi
  ip link del "${CARD}w" 2>/dev/null
  ip link del "$CARD" 2>/dev/null
  [ -n "$CARD" ] && [ -d "$PIN" ] && rm -rf "$PIN"
  rm -rf "$RUN" "$WORK"
  if [ $rc = 0 ] && [ ${#FAILS[@]} -gt 0 ]; then rc=1; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# TAP creation, probed before anything else (network namespaces: setup_netns).
if ! ip tuntap add dev "hilt$ID" mode tap 2>"$WORK/err"; then
  skip "TAP creation refused: $(head -1 "$WORK/err")"
fi
ip link del "hilt$ID"

# ------------------------------------------------------------ helpers

npu() { "$NPU" "$@"; }
peer() { "${PEER[@]}" "$@"; }
in_a() { ip netns exec "$NSA" "$@"; }
in_b() { ip netns exec "$NSB" "$@"; }

start_card() {
  local out
  # (TAP creation was probed above: a card that does not start is a failure.)
  out=$(npu dev start "$CARD" "$@" 2>&1) || die "npu dev start $CARD $*: $out"
  CARD_STARTED=1
  local list
  list=$(npu dev list -j)
  DEV_PID=$(echo "$list" | peer card "$CARD" dev_pid)
  SHIM_PID=$(echo "$list" | peer card "$CARD" shim_pid)
  if [ "$(echo "$list" | peer card "$CARD" kernel)" != true ]; then
    local note
    note=$(echo "$list" | peer card "$CARD" kernel_note)
    case $note in *"bpf()"*) skip "$note" ;; *) skip "bpf() refused: $note" ;; esac
  fi
  echo "# card $CARD: $(echo "$out" | head -1)"
}

card_field() { npu dev list -j | peer card "$CARD" "$1"; }
# "wire_rx to_host from_host wire_tx drop bad_frame", once two reads 200 ms
# apart agree (the frames in flight have landed).
stats() {
  local a b
  a=$(npu dev list -j | peer stats "$CARD")
  for _ in $(seq 15); do
    sleep 0.2
    b=$(npu dev list -j | peer stats "$CARD")
    [ "$a" == "$b" ] && break
    a=$b
  done
  echo "$b"
}

# stats_with MAP KEY...: the stats and then the first word of a map value of
# the card, read while no frame moves (the stats agree before and after).
stats_with() {
  local a b v
  for _ in $(seq 20); do
    a=$(npu dev list -j | peer stats "$CARD")
    v=$(card_entry "$@")
    sleep 0.2
    b=$(npu dev list -j | peer stats "$CARD")
    [ "$a" == "$b" ] && break
  done
  echo "$b ${v%% *}"
}

# Address setup. `static`: permanent neighbour entries, so that no ARP
# crosses the card and its counters hold only the test's packets.
setup_netns() {
  if ! ip netns add "$NSA" 2>"$WORK/err"; then
    skip "ip netns add refused: $(head -1 "$WORK/err")"
  fi
  NS_MADE=1
  ip netns add "$NSB"
  ip link set "${CARD}p" netns "$NSA"
  ip link set "$CARD" netns "$NSB"
  local ns n dev addr
  for ns in "$NSA:${CARD}p:10.9.0.1" "$NSB:$CARD:10.9.0.2"; do
    IFS=: read -r n dev addr <<<"$ns"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1 "net.ipv6.conf.$dev.disable_ipv6=1"
    ip -n "$n" link set lo up
    ip -n "$n" addr add "$addr/24" dev "$dev"
    ip -n "$n" link set "$dev" up
  done
  PEER_MAC=$(in_a cat "/sys/class/net/${CARD}p/address")
  CARD_MAC=$(in_b cat "/sys/class/net/$CARD/address")
  if [ "${1:-}" == static ]; then
    ip -n "$NSA" neigh replace 10.9.0.2 lladdr "$CARD_MAC" dev "${CARD}p" nud permanent
    ip -n "$NSB" neigh replace 10.9.0.1 lladdr "$PEER_MAC" dev "$CARD" nud permanent
  fi
  echo "# ns $NSA: ${CARD}p $PEER_MAC 10.9.0.1; ns $NSB: $CARD $CARD_MAC 10.9.0.2"
}

load() {  # OBJ [more npu args]: must succeed
  local out
  out=$(npu dev prog load "$@" dev "$CARD" 2>&1) || die "npu dev prog load $* dev $CARD: $out"
  echo "# $out"
}

mupdate() {  # MAP key BYTES value BYTES [any|exist|noexist]: must succeed
  local map=$1
  shift
  local out
  out=$(npu dev map update name "$map" "$@" dev "$CARD" 2>&1) ||
    die "npu dev map update name $map $*: $out"
}

mac_dec() { local IFS=: x; for x in $1; do printf '%d ' "0x$x"; done; }
u32_le() { printf '%d %d %d %d' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
zeros() { local i; for i in $(seq "$1"); do printf '0 '; done; }

# The u64 words of a map value, "absent", or "error: ...": from the card
# (`npu dev map lookup -j`) or from its kernel mirror (bpftool, pinned).
card_entry() {
  local map=$1 out
  shift
  if out=$(npu dev map lookup name "$map" key "$@" dev "$CARD" -j 2>&1); then
    echo "$out" | peer entry "$*"
  else
    case $out in *"No such file or directory"*) echo absent ;; *) echo "error: $out" ;; esac
  fi
}
mirror_entry() {
  local map=$1 out
  shift
  if out=$("$BPFTOOL" -j map lookup pinned "$PIN/$map" key "$@" 2>&1); then
    echo "$out" | peer entry "$*"
  else
    case $out in *"No such file or directory"*|null*) echo absent ;; *) echo "error: $out" ;; esac
  fi
}
# expect_entry WHERE(card|mirror) WHAT EXPECTED MAP KEY...: polls for up to
# 3 s (the program may still be counting; a mirror refreshes every period).
expect_entry() {
  local where=$1 what=$2 want=$3 seen
  shift 3
  for _ in $(seq 30); do
    seen=$("${where}_entry" "$@")
    [ "$seen" == "$want" ] && break
    sleep 0.1
  done
  expect "$what ($where)" "$want" "$seen"
}

# expect_same WHAT MAP KEY...: the mirror comes to hold what the card holds.
expect_same() {
  local what=$1 c m
  shift
  for _ in $(seq 30); do
    c=$(card_entry "$@")
    m=$(mirror_entry "$@")
    [ "$c" == "$m" ] && break
    sleep 0.1
  done
  expect "$what: the mirror holds the card's value" "$c" "$m"
}

# UDP receiver in ns B on 10.9.0.2: udp_recv_start TAG PORTS / udp_recv_stop TAG
udp_recv_start() {
  in_b "${PEER[@]}" udp-recv --bind 10.9.0.2 --ports "$2" --ready "$WORK/$1.ready" \
    --stop "$WORK/$1.stop" >"$WORK/$1.json" 2>"$WORK/$1.err" &
  BG+=("$!")
  eval "RECV_$1=$!"
  for _ in $(seq 100); do [ -e "$WORK/$1.ready" ] && return; sleep 0.05; done
  die "the UDP receiver $1 did not start: $(cat "$WORK/$1.err")"
}
udp_recv_stop() {
  touch "$WORK/$1.stop"
  local pid
  eval "pid=\$RECV_$1"
  wait "$pid" || die "the UDP receiver $1 failed: $(cat "$WORK/$1.err")"
}
# udp_send PORT COUNT [more udp-send args]: from ns A to 10.9.0.2.
udp_send() {
  local port=$1 count=$2
  shift 2
  in_a "${PEER[@]}" udp-send --dst 10.9.0.2 --port "$port" --count "$count" "$@"
}
# Sequence numbers a receiver got on PORT: "distinct first last corrupt",
# and " duplicates N" when some came more than once.
received() {
  peer get "$2" <"$WORK/$1.json" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
s = r["seqs"]
dup = len(s) - len(set(s))
out = [len(set(s)), min(s) if s else "-", max(s) if s else "-", r["corrupt"]]
print(" ".join(map(str, out + (["duplicates", dup] if dup else []))))'
}

wait_mirror() { sleep "$(awk -v ms="$MIRROR_MS" 'BEGIN { printf "%.3f", 5 * ms / 1000 }')"; }

# ------------------------------------------------------------ cases

case_ping() {
  start_card "$@"
  setup_netns
  local rx0 th0 fh0 tx0 dr0 bf0 rx1 th1 fh1 tx1 dr1 bf1 out
  read -r rx0 th0 fh0 tx0 dr0 bf0 <<<"$(stats)"
  out=$(in_a ping -c 5 -i 0.2 -W 2 10.9.0.2 2>&1 || true)
  expect "ping A -> B, no program: replies" "5 received" "$(echo "$out" | grep -o '[0-9]* received' || echo "$out")"
  read -r rx1 th1 fh1 tx1 dr1 bf1 <<<"$(stats)"
  expect_true "wire_rx grew by >= 5 ($rx0 -> $rx1)" $((rx1 - rx0)) -ge 5
  expect "to_host delta = wire_rx delta (no program passes everything)" $((rx1 - rx0)) $((th1 - th0))
  expect_true "from_host grew by >= 5 ($fh0 -> $fh1)" $((fh1 - fh0)) -ge 5
  expect "wire_tx delta = from_host delta" $((fh1 - fh0)) $((tx1 - tx0))
  expect "drop delta" 0 $((dr1 - dr0))
  expect "bad_frame delta" 0 $((bf1 - bf0))

  out=$(in_b ping -c 5 -i 0.2 -W 2 10.9.0.1 2>&1 || true)
  expect "ping B -> A, no program: replies" "5 received" "$(echo "$out" | grep -o '[0-9]* received' || echo "$out")"

  load "$EXAMPLES/firewall.o"
  expect "prog on the card" xdp_firewall "$(card_field prog.name)"
  local pass0 drop0 pass1
  read -r rx0 th0 fh0 tx0 dr0 bf0 pass0 <<<"$(stats_with verdict_cnt 2 0 0 0)"
  drop0=$(card_entry verdict_cnt 1 0 0 0)
  out=$(in_a ping -c 5 -i 0.2 -W 2 10.9.0.2 2>&1 || true)
  expect "ping A -> B, firewall with empty maps: replies" "5 received" "$(echo "$out" | grep -o '[0-9]* received' || echo "$out")"
  read -r rx1 th1 fh1 tx1 dr1 bf1 pass1 <<<"$(stats_with verdict_cnt 2 0 0 0)"
  local drx=$((rx1 - rx0))
  expect_true "wire_rx grew by >= 5 ($rx0 -> $rx1)" $drx -ge 5
  expect "to_host delta = wire_rx delta (XDP_PASS)" $drx $((th1 - th0))
  expect "drop delta" 0 $((dr1 - dr0))
  expect "verdict_cnt[XDP_PASS] packets grew by wire_rx's delta" $drx $((pass1 - pass0))
  expect "verdict_cnt[XDP_DROP] unchanged" "$drop0" "$(card_entry verdict_cnt 1 0 0 0)"
  expect_same "verdict_cnt[XDP_PASS]" verdict_cnt 2 0 0 0
}

# The same through a card whose cores are the Verilated RTL core (docs/npu_core.md).
case_ping_rtl() {
  printf 'cores: {count: 2, threads: 4, model: rtl}\n' >"$WORK/rtl.yaml"
  case_ping --config "$WORK/rtl.yaml"
}

case_udp_tcp() {
  start_card
  setup_netns static
  # The card refuses GSO super-frames: segment in the kernel of ns A.
  in_a ethtool -K "${CARD}p" tso off gso off
  load "$EXAMPLES/firewall.o"
  local rx0 th0 fh0 tx0 dr0 bf0 rx1 th1 fh1 tx1 dr1 bf1 pass0 pass1
  read -r rx0 th0 fh0 tx0 dr0 bf0 pass0 <<<"$(stats_with verdict_cnt 2 0 0 0)"

  udp_recv_start u 7001
  udp_send 7001 200 --size 14,64,512,1000,1472 --interval-ms 1 >"$WORK/u.sent"
  udp_recv_stop u
  expect "UDP: datagrams received (distinct first last corrupt)" "200 0 199 0" "$(received u 7001)"

  in_b "${PEER[@]}" tcp-recv --bind 10.9.0.2 --port 7002 --ready "$WORK/t.ready" \
    >"$WORK/t.recv" 2>"$WORK/t.err" &
  local tpid=$!
  BG+=("$tpid")
  for _ in $(seq 100); do [ -e "$WORK/t.ready" ] && break; sleep 0.05; done
  local sent got
  sent=$(in_a "${PEER[@]}" tcp-send --dst 10.9.0.2 --port 7002 --bytes 204800 2>&1) ||
    fail "TCP send: $sent"
  wait "$tpid" || fail "TCP receive: $(cat "$WORK/t.err")"
  got=$(cat "$WORK/t.recv")
  echo "# tcp sender: $sent"
  expect "TCP: bytes received" 204800 "$(echo "$got" | peer get bytes 2>/dev/null || echo none)"
  expect "TCP: sha256 received = sent" "$(echo "$sent" | peer get sha256 2>/dev/null || echo none)" \
    "$(echo "$got" | peer get sha256 2>/dev/null || echo none)"

  read -r rx1 th1 fh1 tx1 dr1 bf1 pass1 <<<"$(stats_with verdict_cnt 2 0 0 0)"
  local drx=$((rx1 - rx0))
  expect "bad_frame delta (no GSO super-frame reached the card)" 0 $((bf1 - bf0))
  expect "drop delta" 0 $((dr1 - dr0))
  expect "to_host delta = wire_rx delta" $drx $((th1 - th0))
  expect "verdict_cnt[XDP_PASS] packets grew by wire_rx's delta" $drx $((pass1 - pass0))
  expect "wire_tx delta = from_host delta" $((fh1 - fh0)) $((tx1 - tx0))
}

case_firewall() {
  MIRROR_MS=20
  start_card --mirror-ms $MIRROR_MS
  setup_netns static
  load "$EXAMPLES/firewall.o"
  local size=64 flen=$((14 + 20 + 8 + 64))
  local SRC="10 9 0 1" RULE7001="0 0 0 0 10 9 0 2 27 89 17 0" PASS="2 0 0 0" DROP="1 0 0 0"
  local p0 d0
  verdict() { card_entry verdict_cnt $1 | cut -d' ' -f1 | sed 's/absent/0/'; }

  # 1. Traffic passes.
  p0=$(verdict "$PASS")
  udp_recv_start r1 7001,7002
  udp_send 7001 20 --size $size >/dev/null
  udp_recv_stop r1
  expect "phase 1: 20 datagrams pass (distinct first last corrupt)" "20 0 19 0" "$(received r1 7001)"
  expect "phase 1: verdict_cnt[XDP_PASS] before any traffic" 0 "$p0"
  expect_entry card "phase 1: verdict_cnt[XDP_PASS] {packets bytes}" "$((p0 + 20)) $(( (p0 + 20) * flen ))" verdict_cnt $PASS
  expect_entry mirror "phase 1: verdict_cnt[XDP_PASS]" "$((p0 + 20)) $(( (p0 + 20) * flen ))" verdict_cnt $PASS

  # 2. Block A's address while traffic runs.
  p0=$(verdict "$PASS")
  d0=$(verdict "$DROP")
  udp_recv_start r2 7001
  udp_send 7001 300 --size $size --interval-ms 5 --first-seq 1000 >"$WORK/r2.sent" &
  local spid=$!
  BG+=("$spid")
  sleep 0.5
  local t0 t1
  t0=$(date +%s.%N)
  mupdate src_block key $SRC value $(zeros 16)
  t1=$(date +%s.%N)
  wait "$spid" || die "the UDP sender failed"
  udp_recv_stop r2
  local live passed dropped
  if live=$(peer live-check --sent "$WORK/r2.sent" --received "$WORK/r2.json" --port 7001 \
              --t-begin "$t0" --t-end "$t1" 2>"$WORK/live.err"); then
    ok "phase 2: live src_block update: packets sent before it passed, after it dropped ($live)"
  else
    fail "phase 2: live src_block update: $(cat "$WORK/live.err" | tr '\n' ';')"
  fi
  CHECKS=$((CHECKS + 1))
  read -r passed dropped <<<"$live"
  expect_entry card "phase 2: src_block[10.9.0.1] {packets bytes} = the dropped packets" \
    "$dropped $((dropped * flen))" src_block $SRC
  expect_entry mirror "phase 2: src_block[10.9.0.1] {packets bytes}" "$dropped $((dropped * flen))" src_block $SRC
  expect_entry card "phase 2: verdict_cnt[XDP_DROP] packets grew by the dropped" \
    "$((d0 + dropped)) $(( (d0 + dropped) * flen ))" verdict_cnt $DROP
  expect_entry mirror "phase 2: verdict_cnt[XDP_DROP]" "$((d0 + dropped)) $(( (d0 + dropped) * flen ))" verdict_cnt $DROP
  expect_entry card "phase 2: verdict_cnt[XDP_PASS] grew by the passed" \
    "$((p0 + passed)) $(( (p0 + passed) * flen ))" verdict_cnt $PASS
  expect_entry mirror "phase 2: verdict_cnt[XDP_PASS]" "$((p0 + passed)) $(( (p0 + passed) * flen ))" verdict_cnt $PASS

  # 3. Unblock: traffic passes again.
  local out
  out=$(npu dev map delete name src_block key $SRC dev "$CARD" 2>&1) || fail "npu dev map delete src_block: $out"
  udp_recv_start r3 7001
  udp_send 7001 20 --size $size >/dev/null
  udp_recv_stop r3
  expect "phase 3: after the delete, 20 datagrams pass" "20 0 19 0" "$(received r3 7001)"
  expect_entry mirror "phase 3: src_block[10.9.0.1] gone from the mirror" absent src_block $SRC

  # 4. A rule for one destination port.
  p0=$(verdict "$PASS")
  d0=$(verdict "$DROP")
  mupdate rules key $RULE7001 value $(zeros 16)
  udp_recv_start r4 7001,7002
  local i
  for i in 0 1 2 3; do
    udp_send 7001 5 --size $size --first-seq $((i * 5)) >/dev/null
    udp_send 7002 5 --size $size --first-seq $((i * 5)) >/dev/null
  done
  udp_recv_stop r4
  expect "phase 4: rules {*, 10.9.0.2, 7001, udp}: port 7001 receives" "0 - - 0" "$(received r4 7001)"
  expect "phase 4: port 7002 receives" "20 0 19 0" "$(received r4 7002)"
  expect_entry card "phase 4: rules[7001] {packets bytes}" "20 $((20 * flen))" rules $RULE7001
  expect_entry mirror "phase 4: rules[7001] {packets bytes}" "20 $((20 * flen))" rules $RULE7001
  expect_entry mirror "phase 4: verdict_cnt[XDP_DROP]" "$((d0 + 20)) $(( (d0 + 20) * flen ))" verdict_cnt $DROP
  expect_entry mirror "phase 4: verdict_cnt[XDP_PASS]" "$((p0 + 20)) $(( (p0 + 20) * flen ))" verdict_cnt $PASS

  # 5. Delete the rule: port 7001 passes again.
  out=$(npu dev map delete name rules key $RULE7001 dev "$CARD" 2>&1) || fail "npu dev map delete rules: $out"
  udp_recv_start r5 7001
  udp_send 7001 20 --size $size >/dev/null
  udp_recv_stop r5
  expect "phase 5: after deleting the rule, port 7001 receives" "20 0 19 0" "$(received r5 7001)"

  # 6. A blocklist entry written with bpftool on the mirror reaches the card.
  out=$("$BPFTOOL" map update pinned "$PIN/src_block" key $SRC value $(zeros 16) 2>&1) ||
    fail "bpftool map update pinned $PIN/src_block: $out"
  wait_mirror
  expect_entry card "phase 6: the mirror's src_block[10.9.0.1] on the card" "0 0" src_block $SRC
  udp_recv_start r6 7001
  udp_send 7001 20 --size $size >/dev/null
  udp_recv_stop r6
  expect "phase 6: blocked through the mirror: port 7001 receives" "0 - - 0" "$(received r6 7001)"
  expect_entry card "phase 6: src_block[10.9.0.1]" "20 $((20 * flen))" src_block $SRC
  expect_entry mirror "phase 6: src_block[10.9.0.1]" "20 $((20 * flen))" src_block $SRC
  out=$("$BPFTOOL" map delete pinned "$PIN/src_block" key $SRC 2>&1) ||
    fail "bpftool map delete pinned $PIN/src_block: $out"
  wait_mirror
  expect_entry card "phase 6: deleted through the mirror" absent src_block $SRC
  udp_recv_start r7 7001
  udp_send 7001 20 --size $size >/dev/null
  udp_recv_stop r7
  expect "phase 6: after the mirror delete, port 7001 receives" "20 0 19 0" "$(received r7 7001)"

  # 7. Every one of a burst of bpftool writes to the mirror reaches the card
  # (rules for an address nobody uses).
  local n=100 port
  for i in $(seq 0 $((n - 1))); do
    port=$((9000 + i))
    "$BPFTOOL" map update pinned "$PIN/rules" key 0 0 0 0 10 9 0 99 $((port >> 8)) $((port & 255)) 17 0 \
      value $(zeros 16) || fail "bpftool map update pinned $PIN/rules (port $port)"
  done
  wait_mirror
  wait_mirror
  expect "phase 7: $n bpftool writes to the rules mirror, entries on the card" $n \
    "$(npu dev map dump name rules dev "$CARD" -j | peer keys)"
  expect "phase 7: entries left on the mirror" $n "$("$BPFTOOL" -j map dump pinned "$PIN/rules" | peer keys)"
}

case_lb() {
  MIRROR_MS=20
  start_card --mirror-ms $MIRROR_MS
  setup_netns static
  load "$EXAMPLES/lb.o"
  local VIP=10.9.5.5 VPORT=7000 CLIENT=10.9.0.1 LBSRC=10.9.0.100 BEIP=10.9.1.1 TTL=33 TOS=16
  # ns A is the client and the backend: the VIP on its lo, a user-space
  # IP-in-IP end (a TUN device) in front of it (this kernel may have no ipip).
  ip -n "$NSA" addr add $VIP/32 dev lo
  in_a sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    net.ipv4.conf.all.accept_local=1
  local s1 slot1 s2 slot2
  read -r s1 slot1 s2 slot2 <<<"$(peer lb-plan --client $CLIENT --vip $VIP --vport $VPORT --sport 40001)"
  echo "# flow sport $s1 -> ring slot $slot1 (backend 1); sport $s2 -> slot $slot2 (no backend)"
  mupdate lb_cfg key 0 0 0 0 value 10 9 0 100 $TTL 0 0 0
  mupdate vips key 10 9 5 5 $((VPORT >> 8)) $((VPORT & 255)) 17 0 value $(zeros 8)
  mupdate backends key 1 0 0 0 value 10 9 1 1 $(mac_dec "$PEER_MAC") 0 0
  mupdate ring key $(u32_le "$slot1") value 1 0 0 0
  local rx0 th0 fh0 tx0 dr0 bf0 rx1 th1 fh1 tx1 dr1 bf1
  read -r rx0 th0 fh0 tx0 dr0 bf0 <<<"$(stats)"
  local out rep
  if rep=$(in_a "${PEER[@]}" lb-probe --ifname "${CARD}p" --card-mac "$CARD_MAC" --peer-mac "$PEER_MAC" \
             --client $CLIENT --vip $VIP --vport $VPORT --backend-ip $BEIP --backend-mac "$PEER_MAC" \
             --lb-src $LBSRC --ttl $TTL --tos $TOS --tun "${CARD}d" \
             --flow "$s1:10:tx" --flow "$s2:3:drop" 2>"$WORK/lb.err"); then
    ok "lb: 10 datagrams to $VIP:$VPORT encapsulated to $BEIP (headers exact) and delivered to the VIP socket; 3 to an empty ring slot not sent"
  else
    fail "lb: $(tr '\n' ';' <"$WORK/lb.err")"
  fi
  CHECKS=$((CHECKS + 1))
  echo "# lb-probe: $rep"
  local flen
  flen=$(echo "$rep" | peer get "$s1.frame_len" 2>/dev/null || echo 0)
  read -r rx1 th1 fh1 tx1 dr1 bf1 <<<"$(stats)"
  expect "wire_tx - from_host delta (frames the card sent itself, XDP_TX)" 10 $(( (tx1 - tx0) - (fh1 - fh0) ))
  expect "drop delta (no backend)" 3 $((dr1 - dr0))
  expect_entry card "lb_stats[vip 0] {packets bytes}, percpu summed" "10 $((10 * flen))" lb_stats 0 0 0 0
  expect_entry mirror "lb_stats[vip 0] {packets bytes}, percpu summed" "10 $((10 * flen))" lb_stats 0 0 0 0
  expect_entry card "lb_stats[DROPPED] {packets bytes}" "3 $((3 * flen))" lb_stats 16 0 0 0
  expect_entry mirror "lb_stats[DROPPED] {packets bytes}" "3 $((3 * flen))" lb_stats 16 0 0 0
  expect_entry mirror "ring[$slot1] on the mirror" "1" ring $(u32_le "$slot1")
  out=$(in_a ping -c 3 -i 0.2 -W 2 10.9.0.2 2>&1 || true)
  expect "ping A -> B with lb loaded (not a VIP: XDP_PASS)" "3 received" "$(echo "$out" | grep -o '[0-9]* received' || echo "$out")"
}

case_router_tx() {
  MIRROR_MS=20
  start_card --mirror-ms $MIRROR_MS
  setup_netns static
  load "$EXAMPLES/router.o"
  local ifx SMAC1=02:00:00:00:08:01 SMAC2=02:00:00:00:07:01
  ifx=$(card_field ifindex)
  echo "# the card's netdev ifindex (npu dev list -j): $ifx"
  mupdate routes key 24 0 0 0 10 9 8 0 value 0 0 0 0
  mupdate routes key 24 0 0 0 10 9 7 0 value 1 0 0 0
  mupdate nexthops key 0 0 0 0 value $(mac_dec "$PEER_MAC") $(mac_dec $SMAC1) $(u32_le "$ifx")
  mupdate nexthops key 1 0 0 0 value $(mac_dec "$PEER_MAC") $(mac_dec $SMAC2) $(u32_le 4242)
  local rx0 th0 fh0 tx0 dr0 bf0 rx1 th1 fh1 tx1 dr1 bf1 rep
  read -r rx0 th0 fh0 tx0 dr0 bf0 <<<"$(stats)"
  if rep=$(in_a "${PEER[@]}" router-probe --ifname "${CARD}p" --card-mac "$CARD_MAC" --peer-mac "$PEER_MAC" \
             --saddr 10.9.0.1 \
             --probe "10.9.8.8,64,10,$PEER_MAC/$SMAC1" \
             --probe "10.9.7.7,64,4,$PEER_MAC/$SMAC2" \
             --probe "10.9.8.9,1,2,none" \
             --probe "10.9.9.9,64,3,none" 2>"$WORK/rt.err"); then
    ok "router: routed frames came back with the next hops' MACs, TTL - 1, a correct checksum, nothing else changed; TTL 1 and unrouted ones did not"
  else
    fail "router: $(tr '\n' ';' <"$WORK/rt.err")"
  fi
  CHECKS=$((CHECKS + 1))
  echo "# router-probe: $rep"
  local flen
  flen=$(echo "$rep" | peer get 0.frame_len 2>/dev/null || echo 0)
  read -r rx1 th1 fh1 tx1 dr1 bf1 <<<"$(stats)"
  expect "wire_tx - from_host delta (XDP_TX)" 14 $(( (tx1 - tx0) - (fh1 - fh0) ))
  expect "to_host delta (TTL 1, no route)" 5 $((th1 - th0))
  local w
  for w in "6:RT_TX:10" "8:RT_TX_FALLBACK:4" "2:RT_TTL_EXCEEDED:2" "3:RT_NO_ROUTE:3"; do
    IFS=: read -r idx name n <<<"$w"
    expect_entry card "rt_stats[$name] {packets bytes}, percpu summed" "$n $((n * flen))" rt_stats $idx 0 0 0
    expect_entry mirror "rt_stats[$name] {packets bytes}, percpu summed" "$n $((n * flen))" rt_stats $idx 0 0 0
  done
  expect_entry card "rt_stats[RT_BAD_NEXTHOP]" "0 0" rt_stats 5 0 0 0
}

# run CMD...: RC = its exit status, OUT = its output (stdout and stderr).
run() {
  local __rc=0 __out
  __out=$("$@" 2>&1) || __rc=$?
  RC=$__rc
  OUT=$__out
}
# expect_refused WHAT TEXT CMD...: non-zero exit and TEXT in the message.
expect_refused() {
  local what=$1 text=$2
  shift 2
  run "$@"
  CHECKS=$((CHECKS + 1))
  if [ "$RC" != 0 ] && [[ $OUT == *"$text"* ]]; then
    ok "$what: refused: $OUT"
  else
    fail "$what: expected a non-zero exit and '$text', seen exit $RC: $OUT"
  fi
}

# "exited" once PID is gone or a zombie (within 5 s), else its state line.
exited() {
  local st
  for _ in $(seq 50); do
    st=$(awk '{ print $2, $3 }' "/proc/$1/stat" 2>/dev/null) || { echo exited; return; }
    [[ $st == *" Z" ]] && { echo exited; return; }
    sleep 0.1
  done
  echo "running: $st"
}

case_offload_checks() {
  MIRROR_MS=20
  local group
  group=$(getent group users staff | head -1 | cut -d: -f1)
  [ -n "$group" ] || die "no group 'users' or 'staff' for the --group check"
  chmod 755 "$RUN"   # so that a non-root user reaches the card's directory
  start_card --mirror-ms $MIRROR_MS --group "$group"
  local obj
  for obj in full_map map_flags bad_prog; do
    run "$CLANG" $BPF_CFLAGS -c "$HERE/data/$obj.c" -o "$WORK/$obj.o"
    [ "$RC" = 0 ] || die "compiling tests/dev/data/$obj.c with $CLANG: $OUT"
  done
  local FW=$EXAMPLES/firewall.o SRC="10 9 0 1"

  expect_refused "prog load ... dev nope" "nope" npu dev prog load "$FW" dev nope

  run npu dev prog load "$FW" dev "$CARD"
  expect "prog load firewall.o: exit" 0 "$RC"
  local id1
  id1=$(card_field prog.id)
  expect_true "the load printed the kernel's id $id1 ($OUT)" -n "$(echo "$OUT" | grep -w "id $id1")"
  run "$BPFTOOL" prog show id "$id1"
  expect "bpftool prog show id $id1 (the kernel has it)" 0 "$RC"
  expect "prog show -j id" "$id1" "$(npu dev prog show dev "$CARD" -j | peer get 0.id)"
  # The tag is the kernel's for the same object: the one bpftool shows for
  # this id, and the one a separate load of the object gets.
  local tag1 ktag otag
  tag1=$(npu dev prog show dev "$CARD" -j | peer get 0.tag)
  ktag=$("$BPFTOOL" prog show id "$id1" -j | peer get tag)
  expect "prog show tag = bpftool's for id $id1" "$ktag" "$tag1"
  run "$BPFTOOL" prog load "$FW" "$KPIN" type xdp
  expect "bpftool prog load of the same object ($OUT)" 0 "$RC"
  otag=$("$BPFTOOL" prog show pinned "$KPIN" -j | peer get tag)
  expect "the tag of a separate kernel load of firewall.o" "$otag" "$tag1"
  rm -f "$KPIN"

  expect_refused "a second load without --force" "--force" npu dev prog load "$FW" dev "$CARD"
  expect "the program after the refused replacement" "$id1" "$(card_field prog.id)"

  mupdate src_block key $SRC value 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0
  run npu dev prog load "$FW" dev "$CARD" --force
  expect "prog load firewall.o --force: exit ($OUT)" 0 "$RC"
  local id2
  id2=$(card_field prog.id)
  expect_true "a new program id ($id1 -> $id2)" "$id2" != "$id1"
  run "$BPFTOOL" prog show id "$id1"
  expect_true "the replaced program $id1 is gone from the kernel ($OUT)" "$RC" != 0
  expect "src_block kept across the replacement (card)" "1 2" "$(card_entry src_block $SRC)"
  expect_entry mirror "src_block kept across the replacement" "1 2" src_block $SRC

  load "$EXAMPLES/lb.o" --force
  expect "pins after replacing firewall with lb" "backends lb_cfg lb_stats ring vips" \
    "$(ls "$PIN" | sort | tr '\n' ' ' | sed 's/ $//')"
  load "$FW" --force
  expect "src_block after lb replaced firewall (a new map)" "0" "$(npu dev map dump name src_block dev "$CARD" -j | peer keys)"

  # Map operations, and the kernel's answer on the mirror alongside.
  mupdate src_block key $SRC value $(zeros 16)
  wait_mirror
  local kv
  kv="key $SRC value $(zeros 16)"
  expect_refused "update noexist on an existing key" "File exists" \
    npu dev map update name src_block $kv noexist dev "$CARD"
  expect_refused "  the kernel (bpftool on the mirror)" "File exists" \
    "$BPFTOOL" map update pinned "$PIN/src_block" $kv noexist
  expect_refused "update exist on a missing key" "No such file or directory" \
    npu dev map update name src_block key 10 9 0 77 value $(zeros 16) exist dev "$CARD"
  expect_refused "  the kernel" "No such file or directory" \
    "$BPFTOOL" map update pinned "$PIN/src_block" key 10 9 0 77 value $(zeros 16) exist
  expect_refused "delete from an array" "Invalid argument" \
    npu dev map delete name verdict_cnt key 0 0 0 0 dev "$CARD"
  expect_refused "  the kernel" "Invalid argument" \
    "$BPFTOOL" map delete pinned "$PIN/verdict_cnt" key 0 0 0 0
  expect_refused "update an array past its end (key 5 of 5)" "Argument list too long" \
    npu dev map update name verdict_cnt key 5 0 0 0 value $(zeros 16) dev "$CARD"
  expect_refused "  the kernel" "Argument list too long" \
    "$BPFTOOL" map update pinned "$PIN/verdict_cnt" key 5 0 0 0 value $(zeros 16)
  expect_refused "lookup an array past its end" "No such file or directory" \
    npu dev map lookup name verdict_cnt key 5 0 0 0 dev "$CARD"

  load "$WORK/full_map.o" --force
  local k
  for k in 1 2 3 4; do mupdate full key $k 0 0 0 value $k 0 0 0 0 0 0 0; done
  expect_refused "a 5th key in a 4-entry hash" "Argument list too long" \
    npu dev map update name full key 5 0 0 0 value $(zeros 8) dev "$CARD"
  wait_mirror
  expect_refused "  the kernel" "Argument list too long" \
    "$BPFTOOL" map update pinned "$PIN/full" key 5 0 0 0 value $(zeros 8)
  run npu dev map update name full key 4 0 0 0 value 9 0 0 0 0 0 0 0 dev "$CARD"
  expect "replacing a key of the full hash: exit ($OUT)" 0 "$RC"
  expect "full: keys" 4 "$(npu dev map dump name full dev "$CARD" -j | peer keys)"
  local idf
  idf=$(card_field prog.id)

  expect_refused "a map with flags its type does not take (BPF_F_MMAPABLE on a hash)" "mmapped" \
    npu dev prog load "$WORK/map_flags.o" dev "$CARD" --force
  expect "  the error is one line" 1 "$(echo "$OUT" | wc -l)"
  expect "the program after the refused load" "$idf" "$(card_field prog.id)"
  expect_refused "a program the verifier refuses" "invalid access to packet" \
    npu dev prog load "$WORK/bad_prog.o" dev "$CARD" --force
  expect "  the error is one line" 1 "$(echo "$OUT" | wc -l)"
  expect_true "  the error names the object bad_prog.o ($OUT)" -n "$(echo "$OUT" | grep -F bad_prog.o)"
  expect "the program after the refused load" "$idf" "$(card_field prog.id)"

  run npu dev prog detach dev "$CARD"
  expect "prog detach: exit ($OUT)" 0 "$RC"
  expect "pins after detach" "" "$(ls "$PIN" 2>/dev/null | tr '\n' ' ')"
  run "$BPFTOOL" prog show id "$idf"
  expect_true "bpftool prog show id $idf after detach fails ($OUT)" "$RC" != 0
  expect "prog show after detach" "" "$(npu dev prog show dev "$CARD")"
  expect_refused "a second detach" "no program" npu dev prog detach dev "$CARD"

  # A user who is not root: refused by the card's directory, and refused by
  # its control socket when the directory lets it through (a supplementary
  # group the user database does not list it in).
  local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  expect_refused "uid 65534: prog show" "$CARD" "${nobody[@]}" "$NPU" dev prog show dev "$CARD"
  expect_refused "uid 65534: map show" "$CARD" "${nobody[@]}" "$NPU" dev map show dev "$CARD"
  expect_refused "uid 65534: dev start" "root" "${nobody[@]}" "$NPU" dev start "hz$ID"
  local withgrp=(setpriv --reuid=65534 --regid=65534 --groups="$(getent group "$group" | cut -d: -f3)")
  local i
  for i in 1 2 3; do
    expect_refused "uid 65534 with supplementary group $group: the control socket refuses (try $i)" \
      "permission denied for uid 65534" "${withgrp[@]}" "$NPU" dev prog show dev "$CARD"
  done

  # Stop removes everything it made.
  load "$FW"
  expect_true "pins before the stop" -e "$PIN/src_block"
  run npu dev stop "$CARD"
  expect "npu dev stop: exit ($OUT)" 0 "$RC"
  run ip link show "$CARD"
  expect_true "the TAP $CARD is gone" "$RC" != 0
  run ip link show "${CARD}w"
  expect_true "the veth ${CARD}w is gone" "$RC" != 0
  run ip link show "${CARD}p"
  expect_true "the veth peer ${CARD}p is gone" "$RC" != 0
  expect_true "$PIN is gone" ! -e "$PIN"
  expect_true "the run dir $RUN/$CARD is gone" ! -e "$RUN/$CARD"
  expect "the device process $DEV_PID" exited "$(exited "$DEV_PID")"
  expect "the shim process $SHIM_PID" exited "$(exited "$SHIM_PID")"
  expect "npu dev list after the stop" "[]" "$(npu dev list -j)"
}

START=$(date +%s.%N)
"case_$CASE"
END=$(date +%s.%N)
if [ ${#FAILS[@]} -gt 0 ]; then
  echo "hil.$CASE: ${#FAILS[@]} of $CHECKS checks failed:" >&2
  for f in "${FAILS[@]}"; do echo "  - $f" >&2; done
  exit 1
fi
echo "hil.$CASE: passed ($CHECKS checks, $(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }') s)"
