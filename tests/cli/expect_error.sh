#!/bin/sh
# Usage: expect_error.sh REGEX STATUS CMD ARGS...  Passes when CMD exits with STATUS
# (1: bad input, 2: bad usage) and exactly one line on stderr that matches REGEX.
regex=$1
status=$2
shift 2
err=$("$@" 2>&1 >/dev/null)
rc=$?
lines=$(printf '%s\n' "$err" | wc -l)
echo "exit $rc, stderr: $err"
[ "$rc" -eq "$status" ] || { echo "expected exit status $status"; exit 1; }
[ "$lines" -eq 1 ] || { echo "expected one line on stderr, got $lines"; exit 1; }
printf '%s\n' "$err" | grep -Eq -e "$regex" || { echo "stderr does not match: $regex"; exit 1; }
