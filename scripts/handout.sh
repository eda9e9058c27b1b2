#!/usr/bin/env bash
# make handout [HANDOUT=DIR]: the students' tree, written into DIR (default
# build/handout) as a fresh git repository with one commit.
#
# What goes in: the files committed at HEAD (never untracked or uncommitted ones),
# minus solutions/. Nothing else needs changing: with no solutions/ the build takes
# the student's files everywhere (crates/kernel-build/src/lab_tree.rs), and asking for
# the solution's stops with "this is a student handout: no solutions". The one edit:
# a book page that includes a solution file includes the skeleton's file of the same
# name instead (same anchors), so the handout's book builds and shows no solution.
#
# A fresh repository, not a branch: the instructor's history holds every solution.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-build/handout}
subject="crtos-lab student handout"

# DIR is replaced only if it is empty or an earlier handout: anything else is refused,
# so a mistyped HANDOUT= never deletes someone's work.
if [[ -e $out ]] && [[ -n "$(ls -A "$out" 2>/dev/null)" ]]; then
    if [[ "$(git -C "$out" log -1 --format=%s 2>/dev/null)" == "$subject"* ]] &&
        [[ "$(git -C "$out" rev-parse --show-toplevel 2>/dev/null)" == "$(cd "$out" && pwd -P)" ]]; then
        rm -rf "$out"
    else
        echo "handout: $out exists and is not an earlier handout: remove it or choose another HANDOUT=DIR" >&2
        exit 2
    fi
fi

head=$(git rev-parse --short HEAD)
if ! git diff --quiet HEAD --; then
    echo "handout: note: uncommitted changes are not in the handout (it is made from HEAD, $head)" >&2
fi

mkdir -p "$out"
git archive --format=tar HEAD -- . ':(exclude)solutions' | tar -x -C "$out"

# The book: an include of solutions/labN/FILE becomes one of labs/labN/FILE.
pages=$(grep -rlE '\{\{#include [^}]*solutions/' "$out/book/src" || true)
for page in $pages; do
    sed -i -E 's#(\{\{\#include [^}]*)solutions/#\1labs/#g' "$page"
    echo "handout: ${page#"$out"/}: solution includes replaced by the skeleton's files"
done

git -C "$out" init -q -b main
git -C "$out" add -A
git -C "$out" -c user.name="crtos-lab" -c user.email="crtos-lab@localhost" \
    commit -q -m "$subject" -m "The lab tree without its solutions (made by make handout)."
echo "handout: $out: $(git -C "$out" ls-files | wc -l) files in one commit, no solutions/ (from $head)"
