#!/bin/sh
# crtos_run=rt: the Linux side of the jitter comparison (make rt-bench-linux; lab 2's
# make rt-bench adds the RTOS side). The same static rt-periodic binary the RTOS runs,
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
cpus=$(nproc)
rt_cpu=$((cpus - 1))
say "linux on $cpus CPUs; load on CPU 0, measuring on CPU $rt_cpu, $periods periods of $period_us us; at $(uptime_s)"

# The load: a checksum loop (CPU and memory) and a file-system loop (tmpfs writes,
# copies and unlinks: system calls, page-cache work, frees), both pinned to CPU 0.
taskset 1 sh -c 'while :; do md5sum /bin/busybox >/dev/null; done' &
load_sum=$!
taskset 1 sh -c 'while :; do dd if=/dev/zero of=/tmp/rt-load bs=64k count=8 2>/dev/null;
	cp /tmp/rt-load /tmp/rt-load.2; rm -f /tmp/rt-load /tmp/rt-load.2; done' &
load_fs=$!

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
[ $rc_rt -eq 0 ]
