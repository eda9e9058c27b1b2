#!/usr/bin/env bash
# Checks a serial transcript of a crtos_run=tests boot:
#   guest/check-transcript.sh TRANSCRIPT [--expect-cpu-features]
# Passes only if the summary line is there with 0 failed, as many PASS lines as the
# summary counts and at least as many as tests.sh defines, no FAIL line, and the guest
# exited with code 0. So a guest that dies, hangs or silently skips tests cannot pass.
set -euo pipefail
T=${1:?usage: check-transcript.sh TRANSCRIPT [--expect-cpu-features]}
HERE=$(cd "$(dirname "$0")" && pwd)
[[ -f "$T" ]] || { echo "check: no transcript $T" >&2; exit 1; }
tr -d '\r' <"$T" >"$T.clean"
fail() { echo "check: $*" >&2; grep -E '^guest-test: .*: FAIL' "$T.clean" >&2 || true; exit 1; }

summary=$(grep -E '^guest-tests: [0-9]+ passed, [0-9]+ failed' "$T.clean" | tail -n 1) ||
  fail "no summary line in $T (the guest did not finish its tests)"
passed=$(sed -E 's/^guest-tests: ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/^guest-tests: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$summary")
pass_lines=$(grep -cE '^guest-test: [a-z0-9-]+: PASS$' "$T.clean" || true)
# Tests defined in tests.sh: one run_test line each (cpu-vmx-uintr among them), plus
# the bad-image loop, which runs ten times. A test may be skipped only by a SKIP line
# the guest printed itself, so a guest that stops early cannot pass.
defined=$(( $(grep -cE '^\s*run_test [a-z]' "$HERE/tests.sh") + 10 ))
skip_lines=$(grep -cE '^guest-test: [a-z0-9-]+: SKIP: ' "$T.clean" || true)
[[ "$failed" == 0 ]] || fail "$failed test(s) failed"
! grep -qE '^guest-test: .*: FAIL' "$T.clean" || fail "FAIL lines in $T"
[[ "$pass_lines" == "$passed" ]] || fail "summary says $passed passed, transcript shows $pass_lines PASS lines"
want=$defined
[[ "${2:-}" == --expect-cpu-features ]] || want=$((defined - 1))
((passed + skip_lines >= want)) || fail "only $passed tests passed and $skip_lines skipped, expected $want"
grep -E '^guest-test: .*: SKIP: ' "$T.clean" || true
if [[ "${2:-}" == --expect-cpu-features ]]; then
  grep -qE '^guest-test: cpu-vmx-uintr: PASS$' "$T.clean" || fail "the VMX/UINTR check did not run"
fi
grep -qE '^\[exit\] code=0$' "$T.clean" || fail "no '[exit] code=0' line"
echo "check: $summary"
rm -f "$T.clean"
