#!/bin/sh
# crtos_run=rt: the jitter comparison: the Linux side (make rt-bench-linux) and, with
# crtos_rt_rtos=1, the RTOS side in the same run (make rt-bench). The same static rt-periodic binary the RTOS runs,
# as a SCHED_FIFO Linux process pinned to the last CPU, then Debian's cyclictest as a
# cross-check, both while a Linux load runs on CPU 0. Each prints one line
#   jitter: side=<linux|cyclictest> period_us=1000 n=<N> median_ns=.. p99_ns=.. max_ns=.. nonce=..
# The programs come in the rt-bench overlay (/bin/rt-periodic, /bin/cyclictest and its
# shared libraries, /bin/cyclictest-jitter); the kernel parameter crtos_rt_periods= sets N.
nonce=${nonce:--}
periods=${crtos_rt_periods:-1000}
period_us=1000
prio=80
# cyclictest's histogram has 1 µs bins up to this latency; later ones count as overflows.
hist_us=10000
say() { echo "rt: $* nonce=$nonce"; }
# Emulated seconds since boot, to show where a slow run spends its time.
uptime_s() { read -r up _ </proc/uptime; echo "${up}s"; }
for prog in rt-periodic cyclictest cyclictest-jitter; do
	command -v $prog >/dev/null || { say "no $prog in this image (make rt-bench-linux adds it)"; exit 1; }
done
# make rt-bench (crtos_rt_rtos=1): the RTOS side in the same run. The hypervisor enters
# every CPU first; once the load runs, the RTOS takes the last CPU and runs the same
# rt-periodic there (its jitter line comes on COM2, as `[rtos] jitter: side=rtos ...`).
rtos_side=${crtos_rt_rtos:-0}
rtos_step() { out=$("$@" 2>&1); rc=$?; say "$*: $out (exit $rc)"; return $rc; }
if [ "$rtos_side" = 1 ]; then
	insmod /lib/crtos.ko && rtos_step crtosctl enable /images/hypervisor.img || exit 1
fi

# The load: a checksum loop (CPU and memory) and a file-system loop (tmpfs writes,
# copies and unlinks: system calls, page-cache work, frees), both pinned to CPU 0.
taskset 1 sh -c 'while :; do md5sum /bin/busybox >/dev/null; done' &
load_sum=$!
taskset 1 sh -c 'while :; do dd if=/dev/zero of=/tmp/rt-load bs=64k count=8 2>/dev/null;
	cp /tmp/rt-load /tmp/rt-load.2; rm -f /tmp/rt-load /tmp/rt-load.2; done' &
load_fs=$!

if [ "$rtos_side" = 1 ]; then
	rtos_step crtosctl start-rtos /images/rtos.img \
		"run=rt-periodic@20:--side:rtos:--period-us:$period_us:--count:$periods:--prio:$prio" \
		"nonce=$nonce" || exit 1
fi
cpus=$(nproc)
rt_cpu=$((cpus - 1))
say "linux on $cpus CPUs; load on CPU 0, measuring on CPU $rt_cpu, $periods periods of $period_us us; at $(uptime_s)"

# CPU 0's busy and idle ticks, to show the load really ran during the measurement.
cpu0_ticks() { awk '/^cpu0 / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
before=$(cpu0_ticks)

NONCE=$nonce rt-periodic --side linux --period-us $period_us --count "$periods" --prio $prio --cpu $rt_cpu \
	>/tmp/rt-periodic.out
rc_rt=$?
cat /tmp/rt-periodic.out
# Without SCHED_FIFO or the pinning the Linux side is not what the comparison claims.
if grep -qE '^rt-periodic: (warning|note):' /tmp/rt-periodic.out; then
	say "rt-periodic ran without SCHED_FIFO or without its CPU: not a valid Linux side"
	rc_rt=1
fi
say "rt-periodic done at $(uptime_s)"

# -m: lock memory; -q: print only at the end; the histogram goes to a file so that ten
# thousand bins do not cross the serial line.
cyclictest -q -m -p $prio -i $period_us -l "$periods" -h $hist_us --histfile=/tmp/cyclictest.hist \
	-a $rt_cpu >/tmp/cyclictest.out 2>&1
rc_ct=$?
say "cyclictest done at $(uptime_s)"
echo "$before $(cpu0_ticks)" | awk -v nonce="$nonce" '{ busy = $3 - $1; idle = $4 - $2
	printf "rt: cpu 0 was busy %d%% of the measurement (the load) nonce=%s\n", busy * 100 / (busy + idle + (busy + idle == 0)), nonce }'
kill $load_sum $load_fs
wait 2>/dev/null
say "load stopped at $(uptime_s)"
[ $rc_ct -eq 0 ] || { head -n 3 /tmp/cyclictest.out | sed 's/^/cyclictest: /'; say "cyclictest failed ($rc_ct)"; exit 1; }
grep -E '^# (Min|Avg|Max) Latencies|^# Histogram Overflows' /tmp/cyclictest.hist | sed 's/^/cyclictest: /'

cyclictest-jitter /tmp/cyclictest.hist $period_us "$periods" "$nonce"
say "histogram converted at $(uptime_s)"
if [ "$rtos_side" = 1 ]; then
	rtos_step crtosctl stop-rtos && rtos_step crtosctl disable || exit 1
fi
[ $rc_rt -eq 0 ]
