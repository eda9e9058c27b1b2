#!/usr/bin/env bash
# Every {{#include FILE:ANCHOR}} in the book names a file that exists and an anchor
# that the file opens and closes. mdBook includes nothing for a missing anchor, and a
# line-number include (FILE:10:20) silently shows other lines once the file changes:
# both are refused here, so `make book` fails instead of printing a wrong page.
set -euo pipefail
cd "$(dirname "$0")/src"
bad=0
while IFS=: read -r page _ spec; do
    file=${spec%%:*}
    anchor=${spec#"$file"}
    anchor=${anchor#:}
    if [[ ! -f $file ]]; then
        echo "book: $page includes $file, which does not exist" >&2
        bad=1
    elif [[ $anchor =~ ^[0-9]*(:[0-9]*)?$ && -n $anchor ]]; then
        echo "book: $page includes $file by line numbers ($anchor): use an anchor (// ANCHOR: name)" >&2
        bad=1
    elif [[ -n $anchor ]] && ! { grep -qE "ANCHOR: $anchor\b" "$file" && grep -qE "ANCHOR_END: $anchor\b" "$file"; }; then
        echo "book: $page includes $file:$anchor, but the file has no ANCHOR/ANCHOR_END $anchor" >&2
        bad=1
    fi
done < <(grep -o '{{#include [^}]*}}' ./*.md | sed 's/{{#include \(.*\)}}/\1/; s/:/::/')
exit $bad
