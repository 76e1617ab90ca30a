#!/usr/bin/env bash
# check-layers.sh [go list flags]: cmd/orosync reaches the services only through their front doors. Its packages
# (tests included) may import, of this repository, only services/<name>/service and the shared modules (events,
# contracts, oro, orosim, mercatodb, and their packages); anything else inside a service (adapters, app, domain,
# ports, ...) is refused with the file's package and the import named. Extra flags go to go list (the layering
# test passes -overlay to add a file with a forbidden import).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=github.com/orosync/orosync
allowed="^$repo/(services/[^/]+/service|(events|contracts|oro|orosim|mercatodb)(/.*)?)\$"
imports=$(go list "$@" -f '{{$p := .ImportPath}}{{range .Imports}}{{$p}} {{.}}
{{end}}{{range .TestImports}}{{$p}} {{.}}
{{end}}{{range .XTestImports}}{{$p}}_test {{.}}
{{end}}' ./cmd/orosync/...)
bad=$(echo "$imports" | awk -v repo="^$repo/" -v ok="$allowed" '$2 ~ repo && $2 !~ ok' | sort -u)
if [ -n "$bad" ]; then
  echo "cmd/orosync may reach a service only through services/<name>/service; forbidden imports:" >&2
  echo "$bad" | sed 's/^/  /' >&2
  exit 1
fi
echo "layers: cmd/orosync imports only the services' front doors"
