#!/usr/bin/env bash
# Runs every package whose tests read files (testdata/, fixtures, DDL, contracts) from a copy of the tracked
# files of this repository in a fresh temporary folder, so a test reading anything outside the repository fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tmp"
cd "$tmp"
[ ! -e ../shared ] || { echo "test-isolated: $tmp has a shared/ beside it" >&2; exit 1; }
# Packages with a test that opens a file by a relative path.
pkgs=$(grep -rlE --include='*_test.go' '"\.\./|testdata|os\.(ReadFile|Open)|filepath\.WalkDir' . \
  | xargs -n1 dirname | sort -u)
echo "test-isolated: $(echo "$pkgs" | wc -l) packages from $tmp"
go test -count=1 -timeout 15m $pkgs
