#!/usr/bin/env bash
# Builds this repository's Mercato module (mercato/sync_orocrm), packs it, pins the tarball in the Mercato app's
# package.json and registers it with `yarn mercato module enable --eject` (a later change of the module: the same
# with the new tarball).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

hash=$(module_hash)
[[ -f $STAMPS/module-$hash ]] && { log "module $hash: installed"; exit 0; }
t0=$SECONDS
log "module $hash: building"
(cd "$MODULE_DIR" && npm ci --no-audit --no-fund --silent && node build.mjs)
mkdir -p "$CACHE/module"
tgz=$CACHE/module/sync-orocrm-$hash.tgz
(cd "$MODULE_DIR" && npm pack --silent --pack-destination "$CACHE/module" >/dev/null)
mv "$CACHE"/module/orosync-sync-orocrm-*.tgz "$tgz"
cd "$APP"
# Mercato documents `mercato module add <pkg>@file:<tarball>`, whose `yarn add` of a package the registry does not
# know crashes in Yarn 4.17's resolution here; its documented alternative for a package pinned in the app's
# package.json is `mercato module enable`, which is what this does.
node -e '
const fs = require("fs"); const [p, name, spec] = process.argv.slice(1); const pkg = JSON.parse(fs.readFileSync(p, "utf8"));
pkg.dependencies[name] = spec; fs.writeFileSync(p, JSON.stringify(pkg, null, 2) + "\n");' package.json "$MODULE_PACKAGE" "file:$tgz"
(cd "$TREE" && yarn install >"$CACHE/module-add.log" 2>&1) || grep -q YN0009 "$CACHE/module-add.log" || die "see $CACHE/module-add.log"
# Mercato's resolver finds package modules of a monorepo app only under packages/@open-mercato/*, so the module is
# enabled with --eject (its source copied to src/modules/sync_orocrm, registered from '@app'); a new build of the
# module replaces the ejected copy the same way.
sed -i "/id: 'sync_orocrm'/d" src/modules.ts
rm -rf src/modules/sync_orocrm
yarn mercato module enable "$MODULE_PACKAGE" --eject --allow-third-party >>"$CACHE/module-add.log" 2>&1 || die "see $CACHE/module-add.log"
grep -q "id: 'sync_orocrm'" src/modules.ts || die "sync_orocrm is not in $APP/src/modules.ts after installing"
rm -f "$STAMPS"/module-* && date -u +%FT%TZ >"$STAMPS/module-$hash"
log "module $hash: installed in $((SECONDS - t0)) s"
