#!/usr/bin/env bash
# Checks the transcript of a crtos_run=uintr-cross boot (guest/stages/uintr-cross.sh):
#   guest/check-uintr-cross.sh TRANSCRIPT NONCE ROUNDS
# Only lines carrying this run's nonce count, so a recorded line cannot pass. Prints
# the measured lines, then fails naming the first check that does not hold.
set -euo pipefail
T=${1:?usage: check-uintr-cross.sh TRANSCRIPT NONCE ROUNDS} NONCE=${2:?} N=${3:?}
[[ -f "$T" ]] || { echo "check-uintr-cross: no transcript $T" >&2; exit 1; }
lines=$(tr -d '\r' <"$T" | grep -E "^uintr-cross: .* nonce=$NONCE\$" | sed "s/ nonce=$NONCE\$//") || true
fail() { echo "check-uintr-cross: $*" >&2; exit 1; }
RTOS="cycle cross: crtosctl run /rtos-bin/uintr-cross cross $N"
LINUX="cycle cross: uintr-test cross cross $N"
# need WHO REGEX: a line of WHO's output matching REGEX (the RTOS's carry its own
# nonce= too, any: crtosctl passes the task no environment of ours).
need() {
	grep -Eq "^uintr-cross: $1: $2" <<<"$lines" || fail "'$1': no line matching '$2'"
}

[[ -n "$lines" ]] || fail "no line with this run's nonce (the stage did not run)"
grep -E 'uintr-cross: (rtos|linux)|exit [0-9]+$|error' <<<"$lines" || true
grep -q '^uintr-cross: done$' <<<"$lines" || fail "the stage did not finish"
! grep -q 'uintr-cross: no UINTR' <<<"$lines" || fail "a side found no UINTR (Bochs should have it)"
! grep -Eq 'uintr-cross: (rtos|linux) error' <<<"$lines" || fail "a side reported an error"

need "cycle setup: crtosctl start-rtos [^:]*" 'exit 0$'
need "cycle setup" 'crtosd --notify poll: socket up$'
# (1) handles swapped; the bad ones refused on both sides.
need "$RTOS" "uintr-cross: rtos bad handles: slot_960=-22 last_slot_vector_64=-22 bit_40=-22 ok=1 "
need "$LINUX" 'uintr-cross: linux bad sender slot=960: EINVAL$'
# (2) Linux wakes the RTOS task blocked in uintr_wait; (3) the RTOS wakes Linux in WAIT.
need "$RTOS" 'uintr-cross: rtos woken by linux vector=3 '
# Linux sends 500 ms after publishing its handle; the task reads it within a few ms
# and blocks: a wait that returned at once (the vector already there) is no wake-up.
waited=$(sed -nE 's/.*uintr-cross: rtos waited_us=([0-9]+) .*/\1/p' <<<"$lines")
[[ -n "$waited" ]] && ((waited >= 100000)) || fail "the RTOS task did not block in uintr_wait (waited_us=${waited:-none})"
need "$LINUX" 'uintr-cross: linux woken by rtos vector=4$'
need "$LINUX" 'uintr-cross: linux wait: slept=1$'
# (4) the round trips; (5) both done, both exit 0.
need "$RTOS" "uintr-cross: rtos<->linux n=$N median=[0-9]+ p99=[0-9]+ "
read -r med p99 < <(sed -nE 's/.*rtos<->linux n=[0-9]+ median=([0-9]+) p99=([0-9]+) .*/\1 \2/p' <<<"$lines")
((med <= p99)) || fail "round trips: median $med above p99 $p99"
need "$RTOS" 'uintr-cross: rtos done '
need "$RTOS" 'exit 0$'
need "$LINUX" "uintr-cross: linux answered n=$N\$"
need "$LINUX" 'uintr-cross: linux done$'
need "$LINUX" 'exit 0$'
need "cycle end" 'crtosd exit [0-9]+$'
need "cycle end: crtosctl stop-rtos" 'exit 0$'
need "cycle end: crtosctl disable" 'exit 0$'
! grep -qE 'Oops|BUG|WARNING|Call Trace|traps:' <<<"$lines" || fail "the kernel complained (see the dmesg lines)"
echo "check-uintr-cross: all checks passed"
