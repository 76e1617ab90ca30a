#!/usr/bin/env bash
# Gives the run a fresh Mercato database: `mercato init` (migrations, tenant and organization "Acme Corp", users,
# encryption maps) runs once into a template database; each run copies the template (seconds instead of a minute).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

db_exists() { [[ $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$1'") == 1 ]]; }

drop_db() {
	psql_admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1' AND pid <> pg_backend_pid()" >/dev/null
	psql_admin -c "DROP DATABASE IF EXISTS \"$1\""
}

init_template() {
	local t0=$SECONDS
	log "mercato init into $MERCATO_TEMPLATE_DB ..."
	redis_ping || die "mercato init needs Redis on 127.0.0.1:$MERCATO_REDIS_PORT (Mercato's queue): run.sh starts it"
	drop_db "$MERCATO_TEMPLATE_DB"
	psql_admin -c "CREATE DATABASE \"$MERCATO_TEMPLATE_DB\""
	configure_env
	set_env DATABASE_URL "postgres://postgres@127.0.0.1:5432/$MERCATO_TEMPLATE_DB"
	(cd "$APP" && yarn mercato init --no-examples >"$CACHE/init.log" 2>&1) || {
		drop_db "$MERCATO_TEMPLATE_DB"
		die "mercato init failed: see $CACHE/init.log"
	}
	set_env DATABASE_URL "postgres://postgres@127.0.0.1:5432/$MERCATO_DB"
	log "mercato init: done in $((SECONDS - t0)) s"
}

[[ -f $APP/.env ]] || configure_env
db_exists "$MERCATO_TEMPLATE_DB" || init_template
drop_db "$MERCATO_DB"
psql_admin -c "CREATE DATABASE \"$MERCATO_DB\" TEMPLATE \"$MERCATO_TEMPLATE_DB\""
log "database $MERCATO_DB: fresh copy of $MERCATO_TEMPLATE_DB"
