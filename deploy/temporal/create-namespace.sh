#!/bin/sh
# The namespace ledgerd runs in, and the search attributes it writes (LedgerdTenant,
# LedgerdDaemon, LedgerdOutcome: SEARCH_ATTRIBUTES in ledgerd/stack/_temporal.py, checked by
# tests/test_compose.py). Safe to re-run.
set -eu
NAMESPACE="${NAMESPACE:-default}"
T="temporal --address ${TEMPORAL_ADDRESS:-temporal:7233}"

attempt=1
until $T operator cluster health; do
  [ "$attempt" -ge 30 ] && { echo "Temporal did not become healthy"; exit 1; }
  attempt=$((attempt + 1)); sleep 5
done
$T operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1 \
  || $T operator namespace create -n "$NAMESPACE" --retention 30d
for name in LedgerdTenant LedgerdDaemon LedgerdOutcome; do
  $T operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword \
    || echo "search attribute $name exists"
done
echo "namespace $NAMESPACE is ready"
