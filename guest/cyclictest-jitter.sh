#!/bin/sh
# Turns cyclictest's histogram file (--histfile) into the comparison's jitter line:
#   cyclictest-jitter HISTFILE PERIOD_US N NONCE
#   -> jitter: side=cyclictest period_us=P n=N median_ns=.. p99_ns=.. max_ns=.. nonce=..
# The histogram has "<bin> <count>" lines, bin k counting latencies in [k, k+1) µs, and
# "# Max Latencies:" and "# Histogram Overflows:" lines. The percentiles are
# nearest-rank, as rt-periodic's, at µs resolution (a bin's lower edge); the max is
# cyclictest's own. A percentile past the last bin is unknown: it is given as the max
# and a note says so. Runs in the guest (busybox) and on the host (its tests).
hist=${1:?usage: cyclictest-jitter HISTFILE PERIOD_US N NONCE} period=${2:?} n=${3:?} nonce=${4:?}
# Empty bins dropped first: grep is much cheaper per line than awk in emulated time
# (10 000 bins: 0.9 s instead of 4.3 s under Bochs).
grep -Ev '^[0-9]+[[:space:]]+0+[[:space:]]*$' "$hist" | awk -v n="$n" -v period="$period" -v nonce="$nonce" '
	# cyclictest pads with zeros, and busybox awk reads "000010" as octal (8).
	function num(s) { sub(/^0+/, "", s); return s + 0 }
	/^# Max Latencies:/ { max = num($4) }
	/^# Histogram Overflows:/ { over = num($4) }
	/^[0-9]+[ \t]+[0-9]+/ { k = num($1); bins[k] = num($2); if (k > top) top = k }
	function pct(p,   rank, sum, k) {
		rank = int((p * total + 99) / 100)
		for (k = 0; k <= top; k++) { sum += bins[k]; if (sum >= rank) return k * 1000 }
		unknown = 1
		return max * 1000
	}
	END {
		for (k = 0; k <= top; k++) total += bins[k]
		total += over
		if (total != n) printf "rt: note: cyclictest counted %d samples, not %d nonce=%s\n", total, n, nonce
		med = pct(50); p99 = pct(99)
		if (unknown) printf "rt: note: a percentile lies past the histogram (%d overflows); given as the max nonce=%s\n", over, nonce
		printf "jitter: side=cyclictest period_us=%d n=%d median_ns=%d p99_ns=%d max_ns=%d nonce=%s\n",
			period, total, med, p99, max * 1000, nonce
	}'
