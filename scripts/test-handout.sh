#!/usr/bin/env bash
# make test-handout: writes a handout (scripts/handout.sh) into build/test-handout/tree
# and checks it as a student would get it:
#   1. no solutions/, and no line that only a solution file has, anywhere in its
#      history (`git log -p`), one commit;
#   2. the solution's tree is refused with "this is a student handout: no solutions";
#   3. every lab's skeleton builds there (`make labN`, each lab the Makefile offers),
#      and plain `cargo build` of the lab 3 crates takes the student's files;
#   4. the grader there scores every lab's skeleton below full (lab 1's self-test too),
#      naming the function still to write.
# Cold (a fresh target directory in the handout): about 6 minutes on 2 busy cores.
set -euo pipefail

cd "$(dirname "$0")/.."
work=$PWD/build/test-handout
tree=$work/tree
say() { printf '\n== handout: %s ==\n' "$*"; }
fail() {
    echo "test-handout: $*" >&2
    exit 1
}
normalize() { sed 's/^[-+ ]//; s/^[[:space:]]*//; s/[[:space:]]*$//'; }
mkdir -p "$work"

say "write it"
bash scripts/handout.sh "$tree"
[[ $(git -C "$tree" rev-list --count HEAD) -eq 1 ]] || fail "the handout has more than one commit"
[[ ! -e $tree/solutions ]] || fail "the handout has solutions/"

say "no solution's line in it, history included"
# A solution file's distinctive lines: those its skeleton (labs/labN/FILE) lacks and no
# other committed file has (a line like `use core::arch::asm;` reveals nothing). Each
# file must have some, or this check could not fail for it.
git ls-files | grep -v '^solutions/' | xargs cat | normalize | sort -u >"$work/others.txt"
git -C "$tree" log -p --all --format=%B | normalize >"$work/history.txt"
for sol in $(git ls-files solutions); do
    skeleton=labs/${sol#solutions/}
    normalize <"$sol" | awk 'length >= 16' | sort -u |
        grep -Fxv -f <(normalize <"$skeleton" 2>/dev/null || true) |
        grep -Fxv -f "$work/others.txt" >"$work/distinctive.txt" || true
    n=$(wc -l <"$work/distinctive.txt")
    [[ $n -gt 0 ]] || fail "$sol has no line of its own to look for"
    if grep -Fx -f "$work/distinctive.txt" "$work/history.txt" >"$work/found.txt"; then
        fail "the handout holds lines of $sol: $(head -3 "$work/found.txt")"
    fi
    echo "$sol: none of its $n distinctive lines is in the handout"
done
# A solution's code copied into another file (a book page, say) hides from the check
# above, its lines being in that file too: so no three consecutive lines of a solution
# (each of some length, one at least not in the skeleton) may follow each other in any
# file of the handout.
windows() { normalize | awk 'length > 0 { a = b; b = c; c = $0; if (++n >= 3) print a "\037" b "\037" c }'; }
git -C "$tree" ls-files -z | (cd "$tree" && xargs -0 cat) | windows | sort -u >"$work/handout-windows.txt"
for sol in $(git ls-files solutions); do
    windows <"$sol" | awk -F'\037' -v skeleton=<(normalize <"labs/${sol#solutions/}" 2>/dev/null || true) '
        BEGIN { while ((getline line < skeleton) > 0) known[line] = 1 }
        length($1) >= 12 && length($2) >= 12 && length($3) >= 12 &&
            (!($1 in known) || !($2 in known) || !($3 in known))' >"$work/blocks.txt"
    if grep -Fx -f "$work/blocks.txt" "$work/handout-windows.txt" >"$work/found.txt"; then
        fail "the handout holds a block of $sol: $(head -1 "$work/found.txt" | tr '\037' '\n')"
    fi
    echo "$sol: none of its $(wc -l <"$work/blocks.txt") three-line blocks is in the handout"
done
if grep -rnE '\{\{#include [^}]*solutions/' "$tree/book/src"; then
    fail "the handout's book includes a solution file"
fi
bash "$tree/book/check-includes.sh"

say "the solution's tree is refused, clearly"
(cd "$tree" && make --no-print-directory lab1 SOLUTION=1 >"$work/refusal-make.txt" 2>&1) &&
    fail "make lab1 SOLUTION=1 worked in the handout"
grep -q "this is a student handout: no solutions" "$work/refusal-make.txt" ||
    fail "make lab1 SOLUTION=1 did not say why: $(cat "$work/refusal-make.txt")"
(cd "$tree" && CRTOS_TREE=solution cargo build -q -p hv-selftest >"$work/refusal-cargo.txt" 2>&1) &&
    fail "CRTOS_TREE=solution cargo build worked in the handout"
grep -q "this is a student handout: no solutions" "$work/refusal-cargo.txt" ||
    fail "CRTOS_TREE=solution cargo build did not say why: $(tail -5 "$work/refusal-cargo.txt")"
echo "refused: make lab1 SOLUTION=1, CRTOS_TREE=solution cargo build"

say "every lab's skeleton builds (make labN)"
labs=$(make --no-print-directory -C "$tree" help | sed -nE 's/^  (lab[0-9]+) .*/\1/p')
[[ -n $labs ]] || fail "the handout's make help lists no lab"
for lab in $labs; do
    (cd "$tree" && make --no-print-directory "$lab") || fail "make $lab failed in the handout"
done
# Plain cargo, no feature: the lab 3 crates take the student's files (the solution's
# are absent, so a build that wanted them would fail).
(cd "$tree" && cargo build -q -p syscall-ring -p crtosd) || fail "cargo build of the lab 3 crates failed"

say "the grader scores the skeleton below full, naming what is missing"
(cd "$tree" && (cargo run --release -q -p grader -- --tree solution lab1-selftest || true) 2>&1 |
    tee "$work/refusal-grader.txt")
grep -q "this is a student handout: no solutions" "$work/refusal-grader.txt" ||
    fail "grader --tree solution did not refuse"
# Lab 1's self-test, then every lab built above: below full, the panic of the first
# `todo!` reached naming its function (`LAB N: ...`), and the list of
# what is left. (A skeleton stops at its first todo!, so each run takes seconds.)
for lab in lab1-selftest $labs; do
    report=$work/$lab-skeleton.txt
    if (cd "$tree" && cargo run --release -q -p grader -- "$lab" --tree student --machine bochs) \
        >"$report" 2>&1; then
        fail "the $lab skeleton got full marks in the handout"
    fi
    tail -1 "$report"
    grep -qE "not yet implemented: LAB [0-9]+: [A-Za-z_]" "$report" ||
        fail "the $lab report does not name the missing function (see $report)"
    grep -q "^still to write (todo! left in your files): " "$report" ||
        fail "the $lab report does not list what is left (see $report)"
done
grep -q "LAB 1: vmxon.rs: check_vmx_support" "$work/lab1-selftest-skeleton.txt" ||
    fail "the lab1-selftest report does not name check_vmx_support"

say "ok"
