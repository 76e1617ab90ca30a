#!/usr/bin/env bash
# Builds the Mercato app for production (`next build`), once per module build: `mercato server start` then serves
# compiled routes, in a fraction of the dev server's memory and without compiling on the first request.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

hash=$(app_hash)
[[ -f $STAMPS/app-build-$hash ]] && { log "app build $hash: cached"; exit 0; }
t0=$SECONDS
log "app build $hash ..."
configure_env
(cd "$APP" && NODE_ENV=production NODE_OPTIONS=--max-old-space-size=8192 yarn next build >"$CACHE/build-app.log" 2>&1) || die "next build failed: see $CACHE/build-app.log"
rm -f "$STAMPS"/app-build-* && date -u +%FT%TZ >"$STAMPS/app-build-$hash"
log "app build $hash: done in $((SECONDS - t0)) s"
