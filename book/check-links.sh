#!/usr/bin/env bash
# Every relative link in the book, [text](page.md#anchor) or ![figure](figures/x.svg),
# names a file that exists and, for a page, a heading that gives that anchor. mdBook
# builds a broken link without a word (its linkcheck backend is not part of the set-up),
# so `make book` runs this and fails instead.
set -euo pipefail
cd "$(dirname "$0")/src"

# The anchors of a page's headings, as mdBook makes them: lower case, punctuation
# dropped, spaces as dashes (code blocks skipped).
anchors() {
    awk '/^```/ { code = !code; next } !code && /^#+ / { sub(/^#+ +/, ""); print }' "$1" |
        tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

bad=0
for page in *.md; do
    # Links outside code: drop fenced blocks and inline code first.
    links=$(awk '/^```/ { code = !code; next } !code' "$page" | sed -E 's/`[^`]*`//g' |
        grep -oE '\]\([^) ]+\)' | sed -E 's/^\]\(//; s/\)$//' || true)
    for link in $links; do
        case $link in
        http://* | https://* | mailto:*) continue ;;
        esac
        file=${link%%#*}
        anchor=
        [[ $link == *#* ]] && anchor=${link#*#}
        [[ -z $file ]] && file=$page
        if [[ ! -f $file ]]; then
            echo "book: $page links to $link, but $file does not exist" >&2
            bad=1
        elif [[ -n $anchor && $file == *.md ]] && ! anchors "$file" | grep -qxF "$anchor"; then
            echo "book: $page links to $link, but $file has no heading with the anchor #$anchor" >&2
            bad=1
        fi
    done
done
exit $bad
