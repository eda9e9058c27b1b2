#!/usr/bin/env bash
# Records the transcripts that grader/tests/transcripts.rs replays, from real boots of
# the smoke kernel (never edit them by hand: re-record). Each run gets a fresh nonce,
# written to nonces.txt next to the transcript's name.
#   bash grader/tests/transcripts/record.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release -q -p hello -p machine
dir=grader/tests/transcripts
out=$dir/nonces.txt
echo "# transcript nonce machine extra-cmdline (written by record.sh)" > "$out"

record() { # name machine extra-words timeout-seconds
    local name=$1 machine=$2 extra=$3 timeout=$4 nonce
    nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    target/release/machine run --machine "$machine" --kernel target/release/hello \
        --cmdline "nonce=$nonce${extra:+ $extra}" --cpus 2 --memory 128 --timeout "$timeout" \
        --run-dir "build/grader/record/$name" --transcript "$dir/$name.log" --quiet || true
    echo "$name.log $nonce $machine ${extra:--}" >> "$out"
    echo "recorded $dir/$name.log ($machine${extra:+, $extra})"
}

record bochs-ok bochs "" 60
record qemu-ok qemu "" 30
record bochs-panic bochs panic 60
record qemu-hang qemu hang 3
