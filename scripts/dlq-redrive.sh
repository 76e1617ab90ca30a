#!/usr/bin/env bash
# Redrive dead letters with the nats CLI: republish each one's original payload, with its original headers (less
# Nats-Msg-Id, which would be de-duplicated), to its original subject, then remove it from OROSYNC_DLQ.
#   scripts/dlq-redrive.sh SEQ [SEQ...]        one or more DLQ sequences (`nats stream subjects OROSYNC_DLQ`, then
#                                             `nats stream get OROSYNC_DLQ --last-for SUBJECT` shows OROSYNC_DLQ#SEQ)
# NATS_URL selects the server (default nats://127.0.0.1:4333, the embedded one).
set -euo pipefail
server=${NATS_URL:-nats://127.0.0.1:4333}
[ $# -gt 0 ] || { sed -n '2,6p' "$0"; exit 2; }
for seq in "$@"; do
  entry=$(nats -s "$server" stream get OROSYNC_DLQ "$seq" -j | jq -r .data | base64 -d)
  subject=$(jq -r .subject <<<"$entry")
  if ! jq -e 'has("payload") or has("payloadText")' <<<"$entry" >/dev/null; then
    # A message too big to store (rule max-size) keeps no payload: it is read again from its source once fixed.
    echo "DLQ #$seq keeps no payload, not redriven: $(jq -r .reason <<<"$entry")" >&2
    continue
  fi
  headers=()
  while IFS= read -r h; do headers+=(-H "$h"); done < <(jq -r '.headers // {} | to_entries[] | select(.key != "Nats-Msg-Id") | "\(.key):\(.value)"' <<<"$entry")
  if jq -e 'has("payload")' <<<"$entry" >/dev/null; then
    body=$(jq -c .payload <<<"$entry")
  else
    body=$(jq -r .payloadText <<<"$entry")
  fi
  printf '%s' "$body" | nats -s "$server" pub -J --force-stdin "${headers[@]}" "$subject"
  nats -s "$server" stream rmm OROSYNC_DLQ "$seq" -f
  echo "redrove DLQ #$seq to $subject ($(jq -r .reason <<<"$entry"))"
done
