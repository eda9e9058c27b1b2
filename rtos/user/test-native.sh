#!/usr/bin/env bash
# Runs every RTOS user program natively on this Linux host and checks its output
# against the contract the RTOS tests rely on: the same static binaries must behave
# the same on Linux, the reference for the Linux system-call ABI.
#   rtos/user/test-native.sh BIN_DIR
set -uo pipefail
BIN=${1:?usage: test-native.sh BIN_DIR}
NONCE=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
export NONCE
pass=0 fail=0
ok() { echo "  PASS $1"; pass=$((pass + 1)); }
bad() { echo "  FAIL $1"; fail=$((fail + 1)); [[ -n "${2:-}" ]] && sed 's/^/       | /' <<<"$2"; }

# check NAME OUTPUT REGEX: every line of OUTPUT must match the extended REGEX.
check_lines() {
  local name=$1 out=$2 re=$3
  if [[ -n "$out" ]] && ! grep -Evq -- "$re" <<<"$out"; then ok "$name"; else bad "$name" "$out"; fi
}

echo "rtos-user-test: native runs on $(uname -sr), nonce=$NONCE"

out=$("$BIN/hello" a b </dev/null)
check_lines "hello prints its arguments" "$out" "^hello: pid=[0-9]+ argc=3 args=a,b nonce=$NONCE\$"

echo "rtos-user-test: $pass passed, $fail failed"
((fail == 0))
