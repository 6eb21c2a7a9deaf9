#!/usr/bin/env bash
# Rewrites the expected diagnostics (the trailing `#> ` lines) of every
# tests/error/*.attn from what `attnc check` prints now. Review the diff!
# Usage: scripts/update-error-goldens.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
attnc=${1:-$root/build}/driver/attnc
cd "$root/tests/error"
strip_trailing_blank() { sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
for f in *.attn; do
  # The expectation is part of the file, so positions at its end can move:
  # rewrite until the file is stable.
  for _ in 1 2 3; do
    body=$(grep -v '^#>' "$f" | strip_trailing_blank)
    out=$(NO_COLOR=1 "$attnc" check "$f" 2>&1 >/dev/null || true)
    new=$(printf '%s\n\n%s\n' "$body" "$(printf '%s\n' "$out" | sed 's/^/#> /')")
    [ "$new" == "$(cat "$f")" ] && break
    printf '%s\n' "$new" > "$f"
  done
done
