#!/usr/bin/env bash
# Runs every RTOS user program natively on this Linux host and checks its output
# against the contract the RTOS's tests rely on. Linux is the reference for the Linux
# system-call ABI: a program that misbehaves here is wrong before any RTOS runs it.
#   rtos/user/test-native.sh BIN_DIR
set -uo pipefail
BIN=${1:?usage: test-native.sh BIN_DIR}
BIN=$(cd "$BIN" && pwd)
NONCE=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
export NONCE
N="nonce=$NONCE"
pass=0 fail=0
ok() { echo "  PASS $1"; pass=$((pass + 1)); }
bad() { echo "  FAIL $1"; fail=$((fail + 1)); [[ -n "${2:-}" ]] && sed 's/^/       | /' <<<"$2"; return 0; }

# expect_lines NAME OUTPUT REGEX: OUTPUT is not empty and every line matches REGEX.
expect_lines() {
  if [[ -n "$2" ]] && ! grep -Evq -- "$3" <<<"$2"; then ok "$1"; else bad "$1" "$2"; fi
}
# expect_status NAME GOT WANT OUTPUT
expect_status() {
  if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1 (exit status $2, expected $3)" "$4"; fi
}

echo "rtos-user-test: native runs on $(uname -sr), $N"
# stdin from /dev/null everywhere: badcall's read needs an fd 0 open for reading.
exec </dev/null

out=$("$BIN/hello" a b); st=$?
expect_lines "hello prints pid, argc and arguments" "$out" "^hello: pid=[0-9]+ argc=3 args=a,b $N\$"
expect_status "hello exits 0" $st 0 "$out"
out=$("$BIN/rust-hello"); st=$?
expect_lines "rust-hello (no_std Rust, its own _start) prints its pid" "$out" "^rust-hello: pid=[0-9]+ $N\$"
expect_status "rust-hello exits 0" $st 0 "$out"
out=$(env -u NONCE "$BIN/hello")
expect_lines "hello without NONCE says nonce=none" "$out" "^hello: pid=[0-9]+ argc=1 args= nonce=none\$"

for mode in yield busy; do
  out=$("$BIN/spin" "s-$mode" 3 "$mode")
  expect_lines "spin $mode: three rounds in order" "$out" "^spin: name=s-$mode round=[0-2] $N\$"
  [[ $(grep -o 'round=[0-9]*' <<<"$out" | tr '\n' ' ') == "round=0 round=1 round=2 " ]] ||
    bad "spin $mode: rounds out of order" "$out"
done

out=$("$BIN/sleep-check"); st=$?
expect_lines "sleep-check: lines parse and every sleep ok" "$out" \
  "^sleep-check: call=(nanosleep|abstime) asked_ns=[0-9]+ got_ns=[0-9]+ ok=1 $N\$"
expect_status "sleep-check exits 0" $st 0 "$out"
[[ $(wc -l <<<"$out") == 6 ]] || bad "sleep-check: expected 6 sleeps" "$out"

out=$("$BIN/badcall"); st=$?
expect_lines "badcall: write/read/syscall999 refused with Linux's errno" "$out" \
  "^badcall: (write=-14 expect=-14|read=-14 expect=-14|syscall999=-38 expect=-38) ok=1 $N\$"
expect_status "badcall exits 0" $st 0 "$out"

# Each fault must kill the program with its signal (exit status 128 + signal number).
declare -A SIGNALS=([null]="SEGV" [ud]="ILL" [div]="FPE" [gp]="SEGV BUS")
for kind in null ud div gp; do
  out=$("$BIN/fault" "$kind" 2>&1); st=$?
  sig=$( ((st > 128)) && kill -l $((st - 128)) 2>/dev/null || echo "none(status $st)")
  if [[ " ${SIGNALS[$kind]} " == *" $sig "* ]] && ! grep -q survived <<<"$out"; then
    ok "fault $kind killed by SIG$sig"
  else
    bad "fault $kind: got $sig, expected SIG${SIGNALS[$kind]// /|SIG}" "$out"
  fi
done

out=$("$BIN/preempt" 80 1000 5); st=$?
expect_lines "preempt: five wake-ups and a summary" "$out" \
  "^preempt: (late_ns=-?[0-9]+|n=5 max_late_ns=[0-9]+|warning: .*) $N\$"
[[ $(grep -c 'late_ns=' <<<"$out") == 6 ]] || bad "preempt: expected 5 wake-ups + summary" "$out"
expect_status "preempt exits 0" $st 0 "$out"

last_cpu=$(($(nproc) - 1))
out=$("$BIN/rt-periodic" --side linux --period-us 1000 --count 200 --prio 80 --cpu $last_cpu); st=$?
expect_status "rt-periodic exits 0" $st 0 "$out"
if grep -Eq "^jitter: side=linux period_us=1000 n=200 median_ns=[0-9]+ p99_ns=[0-9]+ max_ns=[0-9]+ $N\$" <<<"$out"; then
  read -r med p99 max < <(sed -nE 's/^jitter: .* median_ns=([0-9]+) p99_ns=([0-9]+) max_ns=([0-9]+) .*/\1 \2 \3/p' <<<"$out")
  if ((med <= p99 && p99 <= max)); then ok "rt-periodic: jitter line (median $med ≤ p99 $p99 ≤ max $max ns)"
  else bad "rt-periodic: percentiles out of order" "$out"; fi
else
  bad "rt-periodic: no valid jitter line" "$out"
fi
expect_lines "rt-periodic: every line carries the nonce" "$out" " $N\$"
grep -q '^rt-periodic: histogram_us <1:' <<<"$out" || bad "rt-periodic: no histogram line" "$out"
out=$("$BIN/rt-periodic" --side linux --count 0 2>&1); st=$?
expect_status "rt-periodic refuses --count 0" $st 2 "$out"

# The guest's converter of cyclictest's histogram into the jitter line, on known
# histograms, with busybox's awk and grep as in the guest (busybox awk reads zero-padded
# numbers as octal). 100 samples: 50 at 10 µs, 40 at 11, 9 at 12, 1 at 50.
CONVERT="$(dirname "$0")/../../guest/cyclictest-jitter.sh"
if BUSYBOX=$(command -v busybox); then
  shim=$(mktemp -d)
  for applet in awk grep; do ln -s "$BUSYBOX" "$shim/$applet"; done
  hist=$shim/hist
  printf '%s\n' '# Histogram' '000009 000000' '000010 000050' '000011 000040' '000012 000009' \
    '000050 000001' '# Total: 000000100' '# Max Latencies: 00050' '# Histogram Overflows: 00000' >"$hist"
  out=$(PATH=$shim:$PATH sh "$CONVERT" "$hist" 1000 100 "$NONCE")
  expect_lines "cyclictest-jitter: nearest-rank median and p99 from the bins" "$out" \
    "^jitter: side=cyclictest period_us=1000 n=100 median_ns=10000 p99_ns=12000 max_ns=50000 $N\$"
  # Two samples past the histogram: p99 is unknown, given as the max with a note.
  sed -i -e 's/^000012 000009/000012 000007/' -e 's/Overflows: 00000/Overflows: 00002/' \
    -e 's/Max Latencies: 00050/Max Latencies: 20000/' "$hist"
  out=$(PATH=$shim:$PATH sh "$CONVERT" "$hist" 1000 100 "$NONCE")
  expect_lines "cyclictest-jitter: a p99 past the histogram is the max, with a note" "$out" \
    "^(rt: note: a percentile lies past the histogram \(2 overflows\); given as the max|jitter: side=cyclictest period_us=1000 n=100 median_ns=10000 p99_ns=20000000 max_ns=20000000) $N\$"
  rm -rf "$shim"
else
  bad "cyclictest-jitter: no busybox on this host (make setup installs busybox-static)"
fi

# Lab 3's programs, natively: Linux is the reference for what they report on the RTOS.
jail=$(mktemp -d)
echo "from linux" >"$jail/linux.txt"
ln -s /nonexistent-outside "$jail/link-out"
out=$(cd "$jail" && "$BIN/fwd-files" check 5eed 70000); st=$?
expect_status "fwd-files check exits 0" $st 0 "$out"
if "$BIN/fwd-files" pattern 5eed 70000 | cmp -s - "$jail/rtos-out.bin"; then
  ok "fwd-files: the file it writes is its pattern, byte for byte"
else bad "fwd-files: rtos-out.bin differs from the pattern" "$out"; fi
grep -q "^fwd-files: read back bytes=70000 first_mismatch=-1 pread_at=23333 ok=1 $N\$" <<<"$out" &&
  grep -q "^fwd-files: fstat size=70000 lseek end=70000 start=0 $N\$" <<<"$out" &&
  grep -q "^fwd-files: linux.txt says 'from linux' stat size=11 $N\$" <<<"$out" &&
  grep -q "^fwd-files: dir / has: link-out linux.txt rtos-out.bin $N\$" <<<"$out" &&
  grep -q "^fwd-files: mkdir create rename unlink chdir rmdir: ok, getcwd in sub was $jail/sub $N\$" <<<"$out" &&
  ok "fwd-files: read-back, lseek/fstat, Linux's file, listing and directory calls" ||
  bad "fwd-files: a report line is missing or wrong" "$out"
rm -rf "$jail"
out=$("$BIN/fwd-exit" 7 2>&1); st=$?
expect_status "fwd-exit 7 exits 7" $st 7 "$out"
[[ $(grep -c "^fwd-exit: to std\(out, exiting with 7\|err\) $N\$" <<<"$out") == 2 ]] ||
  bad "fwd-exit: a line to stdout and one to stderr" "$out"
out=$("$BIN/fwd-bench" linux 1000); st=$?
expect_status "fwd-bench exits 0" $st 0 "$out"
grep -Eq "^latency: mode=linux n=1000 median=[0-9]+ p99=[0-9]+ $N\$" <<<"$out" &&
  grep -Eq "^throughput: mode=linux bytes=1048576 cycles=[0-9]+ bytes_per_kcycle=[0-9]+ $N\$" <<<"$out" &&
  ok "fwd-bench: latency and throughput lines" || bad "fwd-bench: lines" "$out"

# User interrupts: Linux has none (no UINTR in the CPU, or no uintr_* calls in the
# kernel), so every mode must say so and end with 0; the RTOS runs them under Bochs.
for args in "ping 1 10" "pong 1 10" "sleeper" "waker 1" "bad" "stale"; do
  out=$("$BIN/uintr" $args 2>&1); st=$?
  expect_lines "uintr $args: says there is no UINTR here" "$out" \
    "^uintr: no UINTR \((cpu|kernel)\) mode=${args%% *} $N\$"
  expect_status "uintr $args exits 0" $st 0 "$out"
done
out=$("$BIN/uintr" 2>&1); st=$?
expect_status "uintr without a mode: usage, exit 2" $st 2 "$out"
# The cross pair's RTOS side (Linux's is uintr-test cross) stops before touching DIR.
out=$("$BIN/uintr-cross" /nonexistent 10 2>&1); st=$?
expect_lines "uintr-cross: says there is no UINTR here" "$out" "^uintr-cross: no UINTR $N\$"
expect_status "uintr-cross exits 0" $st 0 "$out"
out=$("$BIN/uintr-cross" 2>&1); st=$?
expect_status "uintr-cross without arguments: usage, exit 2" $st 2 "$out"

echo "rtos-user-test: $pass passed, $fail failed"
((fail == 0))
