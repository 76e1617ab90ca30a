#!/usr/bin/env bash
# The sync_orocrm module's own tests (vitest; the consumer's against a real nats-server, installed with apt-get when
# missing), with the Node the Mercato end-to-end set-up uses (fetched from npm into the cache when missing).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x $TOOLS/bin/node ]] || { source <(sed -n '/^toolchain()/,/^}/p' "$(dirname "$0")/setup.sh"); toolchain; }
command -v nats-server >/dev/null || { apt-get update -qq && apt-get install -y -qq nats-server >/dev/null; }
cd "$MODULE_DIR"
npm ci --no-audit --no-fund --silent
npx tsc --noEmit -p .
npx vitest run
