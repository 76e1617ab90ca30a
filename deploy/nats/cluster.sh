#!/usr/bin/env bash
# Starts a local 3-node JetStream cluster (client ports 4231-4233) from node.conf.template and accounts.conf, for
# trying the production layout on one machine. Passwords of users whose OROSYNC_<USER>_PASSWORD is unset are
# dev-<user>. Usage: deploy/nats/cluster.sh DIR   (stops with Ctrl-C)
set -euo pipefail
dir=${1:?usage: cluster.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
server=$(command -v nats-server || echo /usr/sbin/nats-server)
mkdir -p "$dir"
cp "$here/accounts.conf" "$dir/"
for v in $(grep -o '\$OROSYNC_[A-Z0-9_]*_PASSWORD' "$here/accounts.conf" | tr -d '$' | sort -u); do
  export "$v=${!v:-dev-$(echo "$v" | sed -e 's/^OROSYNC_//' -e 's/_PASSWORD$//' | tr 'A-Z_' 'a-z-')}"
done
trap 'kill $(jobs -p) 2>/dev/null' EXIT
for i in 1 2 3; do
  sed -e "s|\$NAME|orosync-$i|" -e "s|\$CLIENT_PORT|423$i|" -e "s|\$MONITOR_PORT|822$i|" -e "s|\$CLUSTER_PORT|624$i|" \
      -e "s|\$ROUTE_PORT_1|6241|" -e "s|\$ROUTE_PORT_2|6242|" -e "s|\$ROUTE_PORT_3|6243|" \
      -e "s|\$STORE_DIR|$dir/store-$i|" "$here/node.conf.template" > "$dir/node-$i.conf"
  "$server" -c "$dir/node-$i.conf" -l "$dir/node-$i.log" &
done
echo "cluster starting: nats://admin:\$OROSYNC_ADMIN_PASSWORD@127.0.0.1:4231,nats://admin:\$OROSYNC_ADMIN_PASSWORD@127.0.0.1:4232,..."
echo "then: orosync migrate --nats-url nats://admin:...@127.0.0.1:4231 --replicas 3"
wait
