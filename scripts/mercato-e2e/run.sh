#!/usr/bin/env bash
# make mercato-e2e: a real Open Mercato (set up or reused from the cache), the sync_orocrm module's consumer beside
# it, and the Go suite in e2e/mercato, which runs the simulator and orosync into Mercato's database and checks what
# Mercato shows through its HTTP API. Every process runs in a group of its own and is ended by group.
# Set-up times, logs and the suite's figures go to $RUN_DIR (printed at the end).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUN_DIR=${E2E_RUN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/orosync-mercato-e2e.XXXXXX")}
mkdir -p "$RUN_DIR"
export RUN_DIR
cleanup() {
	local f
	for f in "$RUN_DIR"/*.pgid; do [[ -e $f ]] && stop_group "$(basename "$f" .pgid)"; done
	log "logs and figures: $RUN_DIR"
}
trap cleanup EXIT

t0=$SECONDS
# Redis first: Mercato's queue strategy is Redis, and `mercato init` (set-up's last step) enqueues jobs too.
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
start_group redis "$RUN_DIR" redis-server --port "$MERCATO_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
until redis_ping; do ((SECONDS - t0 < 30)) || die "Redis did not start (see $RUN_DIR/redis.log)"; sleep 0.2; done
cold=$([[ -f $STAMPS/build-packages-2 ]] && echo cached || echo cold)
"$(dirname "$0")/setup.sh"
setup_s=$((SECONDS - t0))

t1=$SECONDS
configure_env # the cached app keeps its build; its .env is written anew each run
start_group mercato "$APP" yarn mercato server start
wait_http "$MERCATO_URL/login" 600 || die "Mercato did not answer at $MERCATO_URL (see $RUN_DIR/mercato.log)"
# The first API request loads the server's route modules: wait for the login API to answer too.
until curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$MERCATO_URL/api/auth/login" | grep -q '^[2-4]'; do
	((SECONDS - t1 < 600)) || die "Mercato's API did not answer (see $RUN_DIR/mercato.log)"
	sleep 1
done
start_s=$((SECONDS - t1))
printf 'setup_%s_seconds %s\nserver_ready_seconds %s\nsetup_total_%s_seconds %s\n' \
	"$cold" "$setup_s" "$start_s" "$cold" "$((SECONDS - t0))" >"$RUN_DIR/setup-figures.txt"
log "Mercato ready at $MERCATO_URL: set-up $setup_s s ($cold), server $start_s s"

NATS_PORT=${E2E_NATS_PORT:-4333}
start_group consumer "$APP" yarn mercato sync_orocrm consume --nats-url "nats://127.0.0.1:$NATS_PORT"

go build -o "$RUN_DIR/orosync" ./cmd/orosync
rc=0
(cd "$ROOT" && MERCATO_URL=$MERCATO_URL MERCATO_DATABASE_URL=$MERCATO_DATABASE_URL TENANT_DATA_ENCRYPTION_KEY=$MERCATO_SECRET \
	MERCATO_ADMIN_EMAIL=$MERCATO_ADMIN_EMAIL MERCATO_ADMIN_PASSWORD=$MERCATO_ADMIN_PASSWORD OROSYNC_BIN=$RUN_DIR/orosync \
	E2E_RUN_DIR=$RUN_DIR E2E_NATS_PORT=$NATS_PORT \
	MERCATO_REINDEX_CMD="cd '$APP' && PATH='$PATH' yarn mercato query_index reindex" \
	go test -tags mercatoe2e -count=1 -timeout 60m -v ./e2e/mercato/ 2>&1 | tee "$RUN_DIR/suite.log") || rc=$?
cat "$RUN_DIR/setup-figures.txt" "$RUN_DIR/figures.txt" 2>/dev/null || true
exit "$rc"
