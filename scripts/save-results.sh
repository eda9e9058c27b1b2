#!/usr/bin/env bash
# `BENCH | scripts/save-results.sh NAME`: passes a benchmark's output through, and keeps
# a copy in build/results/NAME.txt for `make figures`, headed with the machine that
# ran it and when (the figures print both: numbers without them mean little).
set -euo pipefail
name=${1:?usage: save-results.sh NAME (reads the benchmark output on stdin)}
dir=build/results
mkdir -p "$dir"
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "# machine: ${model:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)"
    echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$dir/$name.txt.tmp"
tee -a "$dir/$name.txt.tmp"
mv "$dir/$name.txt.tmp" "$dir/$name.txt"
echo "(saved in $dir/$name.txt)"
