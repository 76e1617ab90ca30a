#!/usr/bin/env bash
# Regenerates the committed go-jet models under gen/mercato/public/{table,model} (used by `make gen`).
#
# 1. (re)creates the scratch database orosync_gen and applies both migration sets to it
#    (go run ./cmd/migrate-scratch),
# 2. runs the go-jet generator against it for the tables orosync uses,
# 3. drops the scratch database.
#
# Server: $DATABASE_URL (any database on the server), default
# postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. Needs network access to the Go module
# proxy the first time (go run …/cmd/jet@version builds the generator outside this module, so the
# generator's own dependencies never enter go.mod).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

JET_VERSION=v2.14.1
SCRATCH_DB=orosync_gen
SERVER_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
OUT=gen/mercato

TABLES=(
  customer_entities
  customer_people
  customer_companies
  customer_person_company_links
  customer_addresses
  customer_deals
  customer_deal_people
  customer_deal_companies
  customer_interactions
  customer_comments
  custom_field_values
  sync_external_id_mappings
  orosync_records
  orosync_outbox
  orosync_conflicts
  orosync_pending_links
)

tmp="$(mktemp -d)"
cleanup() {
  rm -rf "$tmp"
  go run ./cmd/migrate-scratch -server "$SERVER_URL" -db "$SCRATCH_DB" -drop || true
}
trap cleanup EXIT

scratch_url="$(go run ./cmd/migrate-scratch -server "$SERVER_URL" -db "$SCRATCH_DB")"

# jet writes to <path>/<dbname>/<schema>; generate into a temp dir and move to the stable path.
go run "github.com/go-jet/jet/v2/cmd/jet@${JET_VERSION}" \
  -dsn="$scratch_url" \
  -schema=public \
  -path="$tmp" \
  -tables="$(IFS=,; echo "${TABLES[*]}")"

rm -rf "$OUT"
mkdir -p "$OUT"
mv "$tmp/$SCRATCH_DB/public" "$OUT/public"

# The generated code imports the jet runtime and google/uuid; pin the runtime to the generator's
# version, then let tidy settle the rest.
go get "github.com/go-jet/jet/v2@${JET_VERSION}"
go mod tidy
gofmt -w "$OUT"
echo "gen.sh: generated $(find "$OUT" -name '*.go' | wc -l) files under $OUT"
