#!/usr/bin/env bash
# Everything the project's test command runs for the shared ring (crates/ring).
# Cold: about 2 minutes on 2 cores, most of it compiling; warm: seconds.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
source scripts/skeleton-tests.sh
stage() { printf '\n== ring: %s ==\n' "$*"; }

stage "format"
cargo fmt -p syscall-ring --check
rustfmt --edition 2021 --check solutions/lab3/ring_queue.rs solutions/lab3/ring_matching.rs \
    labs/lab3/ring_queue.rs labs/lab3/ring_matching.rs

stage "no_std build (default features)"
cargo build -q -p syscall-ring

stage "unit, property, validation (bounded fuzz) and two-thread stress tests"
cargo test -q -p syscall-ring

stage "loom model of the queue protocol"
# Own target dir: --cfg loom changes every crate's build, and would otherwise evict
# the normal build from target/. A debug build: it compiles in half the CPU time of
# --release, and the model (preemption bound 5) still runs in about a second.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/loom" RUSTFLAGS="--cfg loom" \
    cargo test -q -p syscall-ring --test loom

stage "lab 3 skeleton builds"
cargo build -q -p syscall-ring --features lab3-student
cargo test -q -p syscall-ring --features lab3-student --no-run

stage "lab 3 skeleton fails its tests, naming what is missing"
skeleton_tests "lab 3 ring" cargo test -p syscall-ring --features lab3-student --no-fail-fast -- \
    "LAB 3: ring_queue.rs: Producer::push" "LAB 3: ring_queue.rs: Consumer::pop" \
    "LAB 3: ring_matching.rs: PendingTable::begin" "LAB 3: ring_matching.rs: PendingTable::complete" -- \
    corrupted_header_is_refused misaligned_or_short_mapping_is_refused \
    occupancy_accepts_zero_to_capacity_across_wrap arbitrary_bytes_never_panic

stage "ok"
