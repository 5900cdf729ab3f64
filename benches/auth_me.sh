#!/usr/bin/env bash
set -u
cd /work/main
rm -rf /tmp/lw-bench; mkdir -p /tmp/lw-bench
start=$(date +%s.%N)
LEADWIRE_DB=surrealkv:///tmp/lw-bench/data LEADWIRE_ADMIN_PASSWORD=bench-password-1 LEADWIRE_BIND=127.0.0.1:18080 \
  LEADWIRE_RATE_LIMIT_ENABLED=false RUST_LOG=warn ${LEADWIRE_BIN:-./target/release/leadwire} > /tmp/lw-bench/out.log 2>&1 &
pid=$!
until curl -sf 127.0.0.1:18080/readyz >/dev/null; do sleep 0.01; done
end=$(date +%s.%N)
echo "cold start to ready (first start, with bootstrap): $(echo "$end - $start" | bc) s"
TOKEN=$(curl -s 127.0.0.1:18080/v1/auth/login -H 'content-type: application/json' -d '{"email":"admin@leadwire.local","password":"bench-password-1"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
wrk -t2 -c32 -d15s --latency -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18080/v1/auth/me
kill $pid; wait $pid 2>/dev/null
start=$(date +%s.%N)
LEADWIRE_DB=surrealkv:///tmp/lw-bench/data LEADWIRE_BIND=127.0.0.1:18080 RUST_LOG=warn ${LEADWIRE_BIN:-./target/release/leadwire} > /tmp/lw-bench/out2.log 2>&1 &
pid=$!
until curl -sf 127.0.0.1:18080/readyz >/dev/null; do sleep 0.01; done
end=$(date +%s.%N)
echo "restart to ready (existing data): $(echo "$end - $start" | bc) s"
kill $pid
