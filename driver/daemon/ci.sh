#!/usr/bin/env bash
# Everything the project's test command runs for the lab 3 daemon (driver/daemon).
set -euo pipefail

cd "$(dirname "$0")/../.."
stage() { printf '\n== crtosd: %s ==\n' "$*"; }

stage "format"
cargo fmt -p crtosd --check
rustfmt --edition 2021 --check solutions/lab3/daemon_dispatch.rs labs/lab3/daemon_dispatch.rs

stage "unit tests, and forwarding over a memfd mapped twice (the solution)"
cargo test -q -p crtosd

stage "lab 3 skeleton fails the dispatch tests, naming what is missing"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cargo test -p crtosd --features lab3-student --no-fail-fast >"$log" 2>&1; then
    echo "FAIL: the lab 3 daemon skeleton passed its tests" >&2
    exit 1
fi
for missing in openat read write close; do
    if ! grep -q "LAB 3: daemon_dispatch.rs: $missing:" "$log"; then
        echo "FAIL: no failing test names 'LAB 3: daemon_dispatch.rs: $missing'" >&2
        exit 1
    fi
    echo "skeleton fails with: LAB 3: daemon_dispatch.rs: $missing"
done
# ...and only the missing parts: what the skeleton does not touch still passes.
for given in the_bytes_are_libcs_struct_stat refused_requests_get_an_errno_and_are_counted \
    malformed_ring_entries_are_rejected_and_counted garbage_over_the_whole_ring_never_crashes_the_daemon; do
    if ! grep -Eq "^test ([a-z_]+::)*$given ... ok" "$log"; then
        echo "FAIL: '$given' should pass with the skeleton too" >&2
        exit 1
    fi
done
echo "skeleton: given parts pass, lab parts fail"

stage "ok"
