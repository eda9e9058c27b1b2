#!/usr/bin/env bash
# Everything the project's test command runs for the lab 3 daemon (driver/daemon).
set -euo pipefail

cd "$(dirname "$0")/../.."
source scripts/skeleton-tests.sh
stage() { printf '\n== crtosd: %s ==\n' "$*"; }

stage "format"
cargo fmt -p crtosd --check
rustfmt --edition 2021 --check solutions/lab3/daemon_dispatch.rs labs/lab3/daemon_dispatch.rs

stage "unit tests, forwarding over a memfd mapped twice, crtosctl run end to end (the solution)"
# tests/launch.rs runs the real crtosctl, found next to crtosd in target/debug.
cargo build -q -p crtos-ctl
cargo test -q -p crtosd

stage "lab 3 skeleton fails the dispatch tests, naming what is missing"
skeleton_tests "lab 3 daemon" cargo test -p crtosd --features lab3-student --no-fail-fast -- \
    "LAB 3: daemon_dispatch.rs: openat (" "LAB 3: daemon_dispatch.rs: read (" \
    "LAB 3: daemon_dispatch.rs: write (" "LAB 3: daemon_dispatch.rs: close (" -- \
    the_bytes_are_libcs_struct_stat refused_requests_get_an_errno_and_are_counted \
    malformed_ring_entries_are_rejected_and_counted garbage_over_the_whole_ring_never_crashes_the_daemon

stage "ok"
