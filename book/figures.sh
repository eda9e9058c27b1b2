#!/usr/bin/env bash
# make figures: the benchmarks' saved output (build/results/NAME.txt, written by
# scripts/save-results.sh) as SVG plots for the book, drawn by gnuplot.
#
#   rt-bench.txt   `jitter: side=S period_us=P n=N median_ns=.. p99_ns=.. max_ns=..`
#                  and `histogram: side=S <1:N 1-2:N ...` (make rt-bench)
#                                                           -> jitter.svg, jitter-histogram.svg
#   ring-bench.txt the interleaved `NAME X ns (LOW..HIGH)` lines (make ring-bench)
#                                                           -> ring-bench.svg
#   fwd-bench.txt  `latency: mode=M n=N median=C p99=C`, M = linux (a native call, the
#                  baseline), poll, ipi, later uintr (make fwd-bench, lab 3)
#                                                           -> latency.svg
#
# Each input is copied next to its figure (book/src/figures/NAME.txt): the book shows
# those lines as they are, so no number in it is typed by hand. A missing input skips
# its figure with a message and leaves the committed one alone.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-build/results}
out=${2:-book/src/figures}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
made=0

# The caption under a figure: which machine, when, and what the numbers are.
caption() { # FILE NOTE
    local machine date
    machine=$(sed -n 's/^# machine: //p' "$1")
    date=$(sed -n 's/^# date: //p' "$1")
    printf '%s; %s.\\n%s' "${machine:-machine unknown}" "${date:-date unknown}" "$2"
}
# gnuplot's common set-up: an SVG of the given size, the caption at the bottom.
preamble() { # SVG CAPTION
    cat <<EOF
set terminal svg size 840,440 dynamic font "sans,12" background rgb "white"
set output "$1"
set label 99 "$2" at screen 0.5, screen 0.07 center font "sans,10"
set bmargin 7
set grid ytics lc rgb "#dddddd"
set style fill solid 0.8 border -1
set key top left
EOF
}
# A field `key=value` of a line.
field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\\2/p"; }

jitter() {
    local in=$results/rt-bench.txt
    grep -q '^jitter: ' "$in" 2>/dev/null || {
        echo "figures: no jitter lines in $in: run make rt-bench (skipped jitter.svg)"
        return
    }
    # side, median, p99, max in µs.
    grep '^jitter: ' "$in" | while read -r line; do
        printf '%s %s %s %s\n' "$(field side <<<"$line")" \
            "$(field median_ns <<<"$line")" "$(field p99_ns <<<"$line")" "$(field max_ns <<<"$line")"
    done | awk '{ printf "%s %.3f %.3f %.3f\n", $1, $2/1000, $3/1000, $4/1000 }' >"$tmp/jitter.dat"
    local n period
    n=$(grep -m1 '^jitter: ' "$in" | field n)
    period=$(grep -m1 '^jitter: ' "$in" | field period_us)
    {
        preamble "$out/jitter.svg" "$(caption "$in" 'Bochs cycles are emulated, not hardware.')"
        cat <<EOF
set title "Wake-up lateness of a ${period} µs periodic task, ${n} periods, under a Linux load"
set ylabel "lateness (µs, log scale)"
set logscale y
set yrange [1:*]
set style data histogram
set style histogram clustered gap 1
set xtics scale 0
plot "$tmp/jitter.dat" using 2:xtic(1) title "median", '' using 3 title "p99", '' using 4 title "max"
EOF
    } | gnuplot
    cp "$in" "$out/rt-bench.txt"
    echo "figures: $out/jitter.svg (from $in)"
    made=$((made + 1))
    jitter_histogram "$in"
}

# rt-periodic's histograms, `histogram: side=S <1:N 1-2:N 2-4:N ...` (µs buckets that
# double), one bar per side in each bucket.
jitter_histogram() {
    local in=$1
    grep -q '^histogram: ' "$in" || {
        echo "figures: no histogram lines in $in (skipped jitter-histogram.svg)"
        return
    }
    # One row per bucket (in order), one column per side; a side without the bucket: 0.
    grep '^histogram: ' "$in" | awk '{
        side = $2; sub(/^side=/, "", side); sides[++ns] = side
        for (i = 3; i <= NF; i++) {
            split($i, kv, ":")
            if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++nb] = kv[1] }
            count[side, kv[1]] = kv[2]
        }
    } END {
        printf "bucket"; for (s = 1; s <= ns; s++) printf " %s", sides[s]; printf "\n"
        for (b = 1; b <= nb; b++) {
            printf "%s", order[b]
            for (s = 1; s <= ns; s++) printf " %d", count[sides[s], order[b]] + 0
            printf "\n"
        }
    }' >"$tmp/histogram.dat"
    local sides n
    sides=$(head -1 "$tmp/histogram.dat" | wc -w)
    n=$(grep -m1 '^jitter: ' "$in" | field n)
    {
        preamble "$out/jitter-histogram.svg" "$(caption "$in" 'Bochs cycles are emulated, not hardware.')"
        cat <<EOF
set title "rt-periodic's wake-up lateness, ${n} periods per side: how many in each range"
set xlabel "lateness (µs)"
set ylabel "wake-ups (log scale)"
set logscale y
set yrange [0.8:*]
set key top right autotitle columnheader
set style data histogram
set style histogram clustered gap 1
set xtics scale 0 font "sans,9"
plot for [c=2:${sides}] "$tmp/histogram.dat" using c:xtic(1)
EOF
    } | gnuplot
    echo "figures: $out/jitter-histogram.svg (from $in)"
    made=$((made + 1))
}

ring_bench() {
    local in=$results/ring-bench.txt
    grep -q '^== interleaved' "$in" 2>/dev/null || {
        echo "figures: no interleaved results in $in: run make ring-bench (skipped ring-bench.svg)"
        return
    }
    # After the `== interleaved` header: `SCENARIO: NAME X ns (LOW..HIGH), ...` per line;
    # one row per scenario: its name, then X LOW HIGH for each implementation.
    sed -n '/^== interleaved/,$p' "$in" | grep -E '^[a-z].*: .* ns \(' | awk -F': ' '{
        label = $1; sub(/^throughput, /, "stream, ", label)
        printf "\"%s\"", label
        n = split($2, parts, ", ")
        for (i = 1; i <= n; i++) {
            split(parts[i], w, /[ ()]+|\.\./)
            names[i] = w[1]
            printf " %s %s %s", w[2], w[4], w[5]
        }
        printf "\n"
        if (!header) { for (i = 1; i <= n; i++) printf "%s\n", names[i] > "'"$tmp"'/ring-names"; header = 1 }
    }' >"$tmp/ring.dat"
    mapfile -t names <"$tmp/ring-names"
    {
        preamble "$out/ring-bench.svg" "$(caption "$in" 'Host CPU time, not emulated; the host is shared, so the whiskers span the best to the worst round.')"
        cat <<EOF
set title "The ring against rtrb and crossbeam's ArrayQueue: ns per 80-byte message (median)"
set ylabel "ns per message (log scale)"
set logscale y
set style data histogram
set style histogram errorbars gap 1 lw 1
set xtics scale 0 font "sans,9"
plot "$tmp/ring.dat" using 2:3:4:xtic(1) title "${names[0]}", \
     '' using 5:6:7 title "${names[1]}", '' using 8:9:10 title "${names[2]}"
EOF
    } | gnuplot
    cp "$in" "$out/ring-bench.txt"
    echo "figures: $out/ring-bench.svg (from $in)"
    made=$((made + 1))
}

latency() {
    local in=$results/fwd-bench.txt
    grep -q '^latency: ' "$in" 2>/dev/null || {
        echo "figures: no latency lines in $in: run make fwd-bench (skipped latency.svg)"
        return
    }
    # mode, median, p99 (cycles); the whisker runs from the median to the p99.
    grep '^latency: ' "$in" | while read -r line; do
        printf '%s %s %s\n' "$(field mode <<<"$line")" "$(field median <<<"$line")" "$(field p99 <<<"$line")"
    done >"$tmp/latency.dat"
    {
        preamble "$out/latency.svg" "$(caption "$in" 'Bochs cycles are emulated, not hardware.')"
        cat <<EOF
set title "A call's round trip: native on Linux, and forwarded from the RTOS per mode (median, whisker to p99)" font "sans,11"
set ylabel "TSC cycles"
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
set boxwidth 0.5
set xtics scale 0
plot "$tmp/latency.dat" using 0:2:xtic(1) with boxes notitle, \
     '' using 0:2:2:3 with yerrorbars lc rgb "black" pt 0 title "median to p99"
EOF
    } | gnuplot
    cp "$in" "$out/fwd-bench.txt"
    echo "figures: $out/latency.svg (from $in)"
    made=$((made + 1))
}

jitter
ring_bench
latency
echo "figures: $made written into $out"
