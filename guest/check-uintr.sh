#!/usr/bin/env bash
# Checks the transcript of a crtos_run=uintr boot (guest/stages/uintr.sh):
#   guest/check-uintr.sh TRANSCRIPT NONCE
# or, with STAGE PHASE, only the uintr-test runs another stage makes in one phase under
# the hypervisor (lab 4's grader: guest/stages/lab4.sh, phase linux; the expectations
# stay here, in one place):
#   guest/check-uintr.sh TRANSCRIPT NONCE lab4 linux
# Only lines carrying this run's nonce count, so a recorded line cannot pass. Prints
# the measured lines, then fails naming the first check that does not hold.
set -euo pipefail
T=${1:?usage: check-uintr.sh TRANSCRIPT NONCE [STAGE PHASE]} NONCE=${2:?}
STAGE=${3:-uintr} ONLY_PHASE=${4:-}
[[ -f "$T" ]] || { echo "check-uintr: no transcript $T" >&2; exit 1; }
lines=$(tr -d '\r' <"$T" | grep -E "^$STAGE: .* nonce=$NONCE\$" | sed "s/ nonce=$NONCE\$//") || true
fail() { echo "check-uintr: $*" >&2; exit 1; }
# line PHASE COMMAND REGEX: the output line of COMMAND in PHASE matching REGEX
line() { grep -E "^$STAGE: cycle $1: $2: $3" <<<"$lines" | head -n 1; }
need() { [[ -n "$(line "$@")" ]] || fail "phase $1, '$2': no line matching '$3'"; }
num() { sed -nE "s/.*[ :]$1=([0-9]+).*/\1/p" <<<"$2"; }

# What each test of uintr-test must show in PHASE.
expect_pingpong() {
  need $1 'uintr-test pingpong 1000' 'uintr-pingpong: n=1000 median=[0-9]+ p99=[0-9]+$'
  need $1 'uintr-test pingpong 1000' 'exit 0$'
}
expect_wait() { need $1 'uintr-test wait' 'uintr-wait: slept=1 handled=1$'; }
expect_bad_index() {
  need $1 'uintr-test bad-index' 'uintr-bad-register: slot: .*refused: EINVAL$'
  need $1 'uintr-test bad-index' 'uintr-bad-register: vector: .*refused: EINVAL$'
  need $1 'uintr-test bad-index' 'uintr-bad-index: child killed by signal 11$'
  need $1 'uintr-test bad-index' 'uintr-bad-index: ping-pong after: n=50 '
  need $1 'uintr-test bad-index' 'exit 0$'
}
expect_bystander() {
  local b
  b=$(line $1 'uintr-test bystander 400' 'uintr-bystander: ')
  [[ -n "$b" ]] || fail "no bystander line"
  [[ "$b" == *"bystander_exit 0"* ]] || fail "the bystander did not exit normally: $b"
  (($(num bystander_uif "$b") == 0)) || fail "the bystander saw UIF set: $b"
  (($(num bystander_handled "$b") == 0)) || fail "a user interrupt ran in the bystander: $b"
  (($(num bystander_switches "$b") > 0)) || fail "the bystander was never switched with the receiver: $b"
  (($(num received "$b") > 0)) || fail "the receiver got nothing during the storm: $b"
}
expect_thread_exit() {
  need $1 'uintr-test thread-exit' 'uintr-thread-exit: self-notified=1, exited registered$'
  need $1 'uintr-test thread-exit' 'uintr-thread-exit: ping-pong after: n=50 '
  need $1 'uintr-test thread-exit' 'exit 0$'
}
# Under the hypervisor: a ping-pong adds no VM exit to an idle second's.
expect_exits() {
  local e
  e=$(line $1 'uintr-test exits 1000' 'uintr-exits: cpu=0 ')
  [[ -n "$e" ]] || fail "no VM exit count"
  (($(num pingpong_exits "$e") <= $(num idle_exits "$e"))) ||
    fail "UINTR added VM exits: $(num pingpong_exits "$e") during the ping-pong, $(num idle_exits "$e") idle"
}
no_complaint() {
  ! grep -qE 'Oops|BUG|WARNING|Call Trace' <<<"$lines" || fail "the kernel complained (see the dmesg lines)"
}

[[ -n "$lines" ]] || fail "no line with this run's nonce (the stage did not run)"
grep -E 'eventfd-pingpong|uintr-(pingpong|wait|bad|bystander|exits|thread|testui)|exit [1-9]' <<<"$lines" || true

if [[ -n $ONLY_PHASE ]]; then
  for test in pingpong wait bad_index bystander exits; do "expect_$test" "$ONLY_PHASE"; done
  no_complaint
  echo "check-uintr: all checks of $STAGE's phase $ONLY_PHASE passed"
  exit 0
fi

grep -q '^uintr: done$' <<<"$lines" || fail "the stage did not finish"

# CR4.UINTR: clear on the stock kernel (TESTUI raises #UD: SIGILL, status 132), set
# while the module is loaded, clear again after its unload.
need stock 'uintr-test testui' 'exit 132$'
need linux 'uintr-test testui' 'uintr-testui: uif=0$'
need unload 'uintr-test testui' 'exit 132$'

for phase in linux hv; do
  expect_pingpong $phase
  expect_wait $phase
done
need linux 'uintr-test eventfd-pingpong 1000' 'eventfd-pingpong: n=1000 median=[0-9]+ p99=[0-9]+$'
need linux 'uintr-test eventfd-pingpong 1000' 'exit 0$'
expect_bad_index linux
expect_bystander linux
expect_thread_exit linux

# SENDUIPI's NDST follows the sender's APIC mode, and the RTOS writes xAPIC-format NDST:
# Linux must run in xAPIC mode for its threads to send to RTOS UPIDs (uintr-linux.md).
need unload 'kernel_log' '\[ *[0-9.]+\] crtos: uintr: APIC mode xAPIC$'
need hv 'crtosctl enable /images/hypervisor.img' 'exit 0$'
expect_exits hv
need hv 'crtosctl disable' 'exit 0$'
need unload 'rmmod crtos' 'exit 0$'
no_complaint
echo "check-uintr: all checks passed"
