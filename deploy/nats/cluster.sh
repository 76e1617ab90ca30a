#!/usr/bin/env bash
# Starts a local 3-node JetStream cluster (client ports 4231-4233) from node.conf.template, for trying the
# production layout on one machine. Usage: deploy/nats/cluster.sh DIR   (stop with: pkill -f "$DIR/node-")
set -euo pipefail
dir=${1:?usage: cluster.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cp "$here/accounts.conf" "$dir/"
for pw in POLLER TRANSFORMER WRITER RECONCILER ADMIN MERCATO; do
  v=OROSYNC_${pw}_PASSWORD; export "$v=${!v:-dev-$pw}"
done
for i in 1 2 3; do
  sed -e "s|\$NAME|orosync-$i|" -e "s|\$CLIENT_PORT|423$i|" -e "s|\$MONITOR_PORT|822$i|" \
      -e "s|\$CLUSTER_PORT|624$i|" -e "s|\$STORE_DIR|$dir/store-$i|" "$here/node.conf.template" > "$dir/node-$i.conf"
  nats-server -c "$dir/node-$i.conf" -l "$dir/node-$i.log" &
done
echo "cluster starting: nats://admin:\$OROSYNC_ADMIN_PASSWORD@127.0.0.1:4231,127.0.0.1:4232,127.0.0.1:4233"
wait
