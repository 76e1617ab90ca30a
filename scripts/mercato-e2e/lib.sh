# Shared settings of the Mercato end-to-end scripts (sourced, not run).
# The Open Mercato tree, Node, Yarn and Yarn's package cache live under $CACHE, outside the repository.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MERCATO_COMMIT=8c6a83752b0c6717e086b40a9fd7aa8fa950be06 # Open Mercato 0.6.7
MERCATO_REPO=https://github.com/open-mercato/open-mercato.git
NODE_VERSION=24.22.3
YARN_VERSION=4.17.1
CACHE=${OROSYNC_MERCATO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orosync-mercato}
TOOLS=$CACHE/toolchain/node-$NODE_VERSION-yarn-$YARN_VERSION
TREE=$CACHE/open-mercato-${MERCATO_COMMIT:0:10}
APP=$TREE/apps/mercato
STAMPS=$TREE/.orosync
MERCATO_PORT=${MERCATO_PORT:-3300}
MERCATO_URL=${MERCATO_URL:-http://127.0.0.1:$MERCATO_PORT}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MERCATO_DB=${MERCATO_DB:-orosync_mercato_e2e}
MERCATO_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$MERCATO_DB?sslmode=disable
MODULE_DIR=$ROOT/mercato/sync_orocrm
MODULE_PACKAGE=@orosync/sync-orocrm
export PATH=$TOOLS/bin:$PATH
# Mercato's processes read DATABASE_URL from the app's .env, which an inherited variable (the Makefile exports the
# demo's) would override.
unset DATABASE_URL
export YARN_CACHE_FOLDER=$CACHE/yarn-cache
export YARN_ENABLE_GLOBAL_CACHE=false
export YARN_ENABLE_TELEMETRY=0
export NEXT_TELEMETRY_DISABLED=1
export TURBO_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1

log() { printf '%s mercato-e2e: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# step NAME CMD...: runs CMD once per tree (a stamp file remembers it), logging its duration.
step() {
	local name=$1; shift
	if [[ -f $STAMPS/$name ]]; then log "$name: cached"; return; fi
	local t0=$SECONDS
	log "$name ..."
	"$@"
	mkdir -p "$STAMPS" && date -u +%FT%TZ >"$STAMPS/$name"
	log "$name: done in $((SECONDS - t0)) s"
}

# The module's content hash: a change of its sources means reinstalling it into the app.
module_hash() {
	(cd "$MODULE_DIR" && find package.json build.mjs src -type f ! -path '*/__tests__/*' -print0 | sort -z |
		xargs -0 sha256sum | sha256sum | cut -c1-16)
}

psql_admin() { psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
export YARN_ENABLE_IMMUTABLE_INSTALLS=false # CI=true would make Yarn refuse the lockfile changes of the pins and the module
MERCATO_SECRET=orosync-e2e-tenant-encryption-secret-32chars
MERCATO_TEMPLATE_DB=orosync_mercato_tpl_${MERCATO_COMMIT:0:10}
MERCATO_ADMIN_EMAIL=admin@acme.com
MERCATO_ADMIN_PASSWORD=secret
MERCATO_REDIS_PORT=${MERCATO_REDIS_PORT:-6390}

# set_env KEY VALUE: sets KEY in the app's .env (written from .env.example by configure_env).
set_env() {
	local f=$APP/.env
	if grep -q "^$1=" "$f"; then sed -i "s|^$1=.*|$1=$2|" "$f"; else printf '%s=%s\n' "$1" "$2" >>"$f"; fi
}

# configure_env writes the app's .env: its own database, memory cache, tenant encryption on (Mercato's default) with a
# known secret that orosync is given too, and the Redis queue (QUEUE_STRATEGY=async): the local strategy keeps a
# queue in one JSON file that only one process may write (its lock is in-process), and the module's consumer is a
# process of its own that enqueues persistent events while Mercato's workers dequeue them.
configure_env() {
	cp "$APP/.env.example" "$APP/.env"
	set_env DATABASE_URL "postgres://postgres@127.0.0.1:5432/$MERCATO_DB"
	set_env JWT_SECRET orosync-e2e-jwt-secret
	set_env AUTH_SECRET orosync-e2e-auth-secret
	set_env APP_URL "$MERCATO_URL"
	set_env PORT "$MERCATO_PORT"
	set_env CACHE_STRATEGY memory
	set_env QUEUE_STRATEGY async
	set_env REDIS_URL "redis://127.0.0.1:$MERCATO_REDIS_PORT"
	set_env OM_INIT_SUPERADMIN_PASSWORD orosync-e2e-superadmin
	set_env TENANT_DATA_ENCRYPTION yes
	set_env TENANT_DATA_ENCRYPTION_FALLBACK_KEY "$MERCATO_SECRET"
	set_env TENANT_DATA_ENCRYPTION_KEY "$MERCATO_SECRET"
	set_env OM_WEBHOOKS_ALLOW_PRIVATE_URLS true # the suite's webhook receiver listens on 127.0.0.1
}

# start_group NAME DIR CMD...: runs CMD in DIR in a process group of its own (setsid), output to $RUN_DIR/NAME.log,
# group id in $RUN_DIR/NAME.pgid. stop_group NAME ends that group (TERM, then KILL after 20 s).
start_group() {
	local name=$1 dir=$2; shift 2
	(cd "$dir" && exec setsid "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null) &
	echo $! >"$RUN_DIR/$name.pgid"
	log "$name started (process group $!), log $RUN_DIR/$name.log"
}

stop_group() {
	local f=$RUN_DIR/$1.pgid pgid
	[[ -f $f ]] || return 0
	pgid=$(cat "$f")
	rm -f "$f"
	kill -TERM -- "-$pgid" 2>/dev/null || return 0
	for _ in $(seq 40); do kill -0 -- "-$pgid" 2>/dev/null || { log "$1 stopped"; return 0; }; sleep 0.5; done
	kill -KILL -- "-$pgid" 2>/dev/null || true
	log "$1 killed"
}

# wait_http URL SECONDS: waits until URL answers with any HTTP status.
wait_http() {
	local url=$1 deadline=$((SECONDS + $2))
	until curl -s -o /dev/null --max-time 5 "$url"; do
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# app_hash: the hash of the module files Mercato's Next build compiles (web-files.mjs); `next build` runs again
# only when they change.
app_hash() {
	(cd "$MODULE_DIR" && node "$ROOT/scripts/mercato-e2e/web-files.mjs" | xargs sha256sum | sha256sum | cut -c1-16)
}

# redis_ping: whether the suite's Redis answers PING.
redis_ping() {
	local r
	{ exec 3<>"/dev/tcp/127.0.0.1/$MERCATO_REDIS_PORT"; } 2>/dev/null || return 1
	printf 'PING\r\n' >&3
	read -r -t 2 r <&3 || true
	exec 3<&-
	[[ $r == +PONG* ]]
}
