#!/bin/sh
# Usage: expect_error.sh REGEX CMD ARGS...  Passes when CMD exits 1 with exactly
# one line on stderr that matches REGEX (the project's rule for bad input).
regex=$1
shift
err=$("$@" 2>&1 >/dev/null)
rc=$?
lines=$(printf '%s\n' "$err" | wc -l)
echo "exit $rc, stderr: $err"
[ "$rc" -eq 1 ] || { echo "expected exit status 1"; exit 1; }
[ "$lines" -eq 1 ] || { echo "expected one line on stderr, got $lines"; exit 1; }
printf '%s\n' "$err" | grep -Eq "$regex" || { echo "stderr does not match: $regex"; exit 1; }
