#!/bin/sh
# Loads BPF objects into the running kernel, so that its verifier judges them.
#
#   kernel_load_test.sh [--bpftool PATH] OBJ.o...
#
# Every program of each object is loaded with `bpftool prog loadall` and its
# maps are created, pinned in a private bpffs directory, then unpinned again.
# Exit status: 0 if every object loads, 1 if one does not (the verifier log is
# printed), 2 on bad usage, 77 (ctest's SKIP_RETURN_CODE) when the test cannot
# run here: not root, no bpftool, no bpffs, or bpf() refused.
set -u

bpftool=${BPFTOOL:-bpftool}
if [ "${1:-}" = "--bpftool" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 [--bpftool PATH] OBJ.o..." >&2; exit 2; }
  bpftool=$2
  shift 2
fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [--bpftool PATH] OBJ.o..." >&2
  exit 2
fi

skip() {
  echo "SKIP: $*"
  exit 77
}

for obj in "$@"; do
  [ -f "$obj" ] || { echo "FAIL: $obj: no such file (build the 'examples' target first)"; exit 1; }
done
[ "$(id -u)" = 0 ] || skip "not root: loading BPF programs needs CAP_BPF and CAP_NET_ADMIN"
command -v "$bpftool" >/dev/null 2>&1 || skip "bpftool not found ($bpftool)"

# No dots anywhere in the pin paths: libbpf turns them into "_" in map pin
# paths, and bpffs refuses names with a dot.
base=${TMPDIR:-/tmp}
case $base in *.*) base=/tmp ;; esac
work=$(mktemp -d "$base/npu-kload-XXXXXX") || exit 1
pins=""
mounted=0
cleanup() {
  if [ -n "$pins" ] && [ -d "$pins" ]; then
    rm -rf "$pins"/* 2>/dev/null
  fi
  if [ "$mounted" = 1 ]; then
    umount "$pins" 2>/dev/null
  elif [ -n "$pins" ]; then
    rmdir "$pins" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A private bpffs mount, or failing that (e.g. no mount rights in a container)
# a private directory in the system's bpffs.
mkdir "$work/bpffs"
if mount -t bpf bpf "$work/bpffs" 2>/dev/null; then
  pins=$work/bpffs
  mounted=1
elif [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ]; then
  pins=$(mktemp -d /sys/fs/bpf/npu-kload-XXXXXX) || skip "cannot create a directory in /sys/fs/bpf"
else
  skip "no bpffs: cannot mount one and /sys/fs/bpf is not one"
fi

# Is bpf() usable at all?
if ! "$bpftool" map create "$pins/probe" type array key 4 value 4 entries 1 name npu_probe \
    >"$work/probe.log" 2>&1; then
  skip "bpf() refused: $(head -n 1 "$work/probe.log")"
fi
rm -f "$pins/probe"

status=0
for obj in "$@"; do
  name=$(basename "$obj" .o)
  # bpftool creates these two directories itself (not their parents).
  progs_dir=$pins/$name-progs
  maps_dir=$pins/$name-maps
  if "$bpftool" prog loadall "$obj" "$progs_dir" pinmaps "$maps_dir" >"$work/load.log" 2>&1; then
    progs=$(ls "$progs_dir" | tr '\n' ' ')
    echo "OK: $obj: $progs"
  else
    echo "FAIL: $obj: the kernel refused it"
    # The verifier log can be long; its end says why.
    tail -n 80 "$work/load.log"
    status=1
  fi
  rm -rf "$progs_dir" "$maps_dir"
done
exit $status
