#!/bin/sh
# The namespace ledgerd runs in, and the search attributes it writes (LedgerdTenant,
# LedgerdDaemon, LedgerdOutcome: SEARCH_ATTRIBUTES in ledgerd/stack/_temporal.py, checked by
# tests/test_compose.py). Safe to re-run.
set -eu
NAMESPACE="${NAMESPACE:-default}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"

t() {
  temporal --address "$ADDRESS" "$@"
}

attempt=1
until t operator cluster health; do
  if [ "$attempt" -ge 30 ]; then
    echo "Temporal at $ADDRESS did not become healthy"
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 5
done
t operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1 \
  || t operator namespace create -n "$NAMESPACE" --retention 30d
for name in LedgerdTenant LedgerdDaemon LedgerdOutcome; do
  t operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword \
    || echo "search attribute $name exists"
done
echo "namespace $NAMESPACE is ready"
