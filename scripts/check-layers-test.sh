#!/usr/bin/env bash
# check-layers-test.sh: check-layers.sh refuses a forbidden import. A file importing a service's adapters is
# added to cmd/orosync through go list's -overlay (the tree is not touched), and the check must fail naming it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/forbidden.go" <<'GO'
package main

import _ "github.com/orosync/orosync/services/writer/adapters"
GO
printf '{"Replace":{"%s":"%s"}}' "$PWD/cmd/orosync/zz_layers_probe.go" "$dir/forbidden.go" > "$dir/overlay.json"
if out=$(./scripts/check-layers.sh -overlay "$dir/overlay.json" 2>&1); then
  echo "check-layers.sh accepted cmd/orosync importing services/writer/adapters:" >&2
  echo "$out" >&2
  exit 1
fi
if ! grep -q "services/writer/adapters" <<<"$out"; then
  echo "check-layers.sh failed without naming the forbidden import:" >&2
  echo "$out" >&2
  exit 1
fi
echo "layers: a forbidden import is refused"
