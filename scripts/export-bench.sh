#!/usr/bin/env bash
# Measures the PSTN usage export end to end: EXPORT_ROWS (default 1,000,000) call records of tenant demo are written
# into a PostgreSQL of its own, one Release gateway serves them, and `./commscredits usage export` writes the CSV.
# It checks that the CSV has one row per record and that its Charge column sums to sum(charge_micros), then prints
#
#   export: rows=N seconds=X rows_per_s=N gateway_rss_before_mb=X gateway_peak_rss_mb=X cli_peak_rss_mb=X csv_mb=X
#
# The stack (Redis, PostgreSQL) runs in ${EXPORT_BENCH_DIR:-<repo>/.local/export-bench} on ports 16389 and 15442 and
# is stopped at the end, so `make run`'s data is not touched. Run it with `make export-bench` (which builds first).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=${EXPORT_ROWS:-1000000}
configuration=${CONFIGURATION:-Release}
export LOCAL_DIR=${EXPORT_BENCH_DIR:-$repo_root/.local/export-bench}
export REDIS_PORT=16389
export POSTGRES_PORT=15442
endpoint=http://127.0.0.1:5090
operations=http://127.0.0.1:9474
gateway_dll=$repo_root/src/CommsCredits.Gateway/bin/$configuration/net10.0/CommsCredits.Gateway.dll
csv=$LOCAL_DIR/usage.csv
keys_file=$LOCAL_DIR/demo-keys.env
gateway_log=$LOCAL_DIR/gateway.log
# Bounds the wait for the gateway to become ready.
ready_wait_seconds=60

fail() {
    echo "export-bench: $*" >&2
    exit 1
}

[[ $rows =~ ^[1-9][0-9]{0,7}$ ]] || fail "EXPORT_ROWS must be a whole number from 1 to 99,999,999, not '$rows'"
[[ -f $gateway_dll ]] || fail "gateway not built: $gateway_dll is missing (run make build)"

gateway_pid=
cleanup() {
    if [[ -n $gateway_pid ]]; then
        kill "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    "$repo_root/scripts/local-stack.sh" stop >/dev/null
}
trap cleanup EXIT

"$repo_root/scripts/local-stack.sh" start >/dev/null
psql_bench() {
    psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d commscredits -v ON_ERROR_STOP=1 -X -q -t -A "$@"
}
export Storage__Redis=127.0.0.1:$REDIS_PORT
export Storage__Postgres="Host=127.0.0.1;Port=$POSTGRES_PORT;Username=postgres;Database=commscredits"
export Server__Endpoint=$endpoint
export Operations__Endpoint=$operations
export Logging__Console__FormatterName=simple

dotnet "$gateway_dll" migrate >"$LOCAL_DIR/setup.log" 2>&1 || fail "migrate failed; see $LOCAL_DIR/setup.log"
dotnet "$gateway_dll" seed-demo --keys-file "$keys_file" >>"$LOCAL_DIR/setup.log" 2>&1 || fail "seed-demo failed; see $LOCAL_DIR/setup.log"
# shellcheck disable=SC1090
. "$keys_file"

# The records: one tenant, one every 20 seconds from 2025-01-01 (a million span 232 days of 2025), charges from 0 to
# 4.999 in whole thousandths, a third of each call type. Earlier runs' records are replaced.
seed_started=$(date +%s.%N)
psql_bench <<SQL
DELETE FROM call_records WHERE tenant_id = 'demo' AND session_id LIKE 'export-bench-%';
INSERT INTO call_records (tenant_id, epoch, session_number, session_id, user_id, call_type, calling_number, called_number,
                          started_at, ended_at, used_seconds, billed_seconds, charge_micros, uncharged_micros, currency,
                          destination_name, rated_prefix, rate_per_minute_micros, connection_fee_micros,
                          first_increment_seconds, next_increment_seconds, rate_effective_from, termination_cause)
SELECT 'demo', 1000000000, g, 'export-bench-' || g, 'alice@demo.example', 1 + g % 3, '+442079460' || lpad((g % 1000)::text, 3, '0'),
       '+1212555' || lpad((g % 10000)::text, 4, '0'),
       timestamptz '2025-01-01 00:00:00+00' + g * interval '20 seconds' - (g % 600) * interval '1 second',
       timestamptz '2025-01-01 00:00:00+00' + g * interval '20 seconds', g % 600, (g % 600 + 59) / 60 * 60,
       (g % 5000) * 1000, 0, t.currency, 'United States', '1212', 10000, 0, 60, 60, timestamptz '2020-01-01 00:00:00+00', 1
FROM generate_series(1, $rows) g, tenants t
WHERE t.tenant_id = 'demo';
ANALYZE call_records;
SQL
seed_seconds=$(echo "$(date +%s.%N) - $seed_started" | bc)
read -r expected_rows expected_micros < <(psql_bench -F ' ' -c \
    "SELECT count(*), coalesce(sum(charge_micros), 0) FROM call_records WHERE tenant_id = 'demo' AND ended_at >= '2025-01-01' AND ended_at < '2026-01-01'")
printf 'export-bench: seeded %d records in %.1f s\n' "$rows" "$seed_seconds"

dotnet "$gateway_dll" serve >"$gateway_log" 2>&1 &
gateway_pid=$!
for ((i = 0; i < ready_wait_seconds * 10; i++)); do
    curl -fsS "$operations/readyz" >/dev/null 2>&1 && break
    kill -0 "$gateway_pid" 2>/dev/null || { tail -n 20 "$gateway_log" >&2; fail "the gateway exited; see $gateway_log"; }
    sleep 0.1
done
curl -fsS "$operations/readyz" >/dev/null || fail "the gateway was not ready within $ready_wait_seconds s; see $gateway_log"

rss_mb() { awk -v field="$2:" '$1 == field { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# The CLI is built before the clock starts.
"$repo_root/commscredits" --help >/dev/null
gateway_rss_before=$(rss_mb "$gateway_pid" VmRSS)
rm -f "$csv"
started=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$LOCAL_DIR/cli-peak-kb" "$repo_root/commscredits" --address "$endpoint" --key "$COMMSCREDITS_ADMIN_KEY" \
    usage export --tenant demo --from 2025-01-01 --to 2025-12-31 --out "$csv" >/dev/null
seconds=$(echo "$(date +%s.%N) - $started" | bc)
gateway_peak=$(rss_mb "$gateway_pid" VmHWM)
cli_peak=$(awk '{ printf "%.1f", $1 / 1024 }' "$LOCAL_DIR/cli-peak-kb")

# The CSV check: data rows (the header aside), and the Charge column summed exactly (python Decimal, no floats).
read -r csv_rows csv_micros < <(python3 - "$csv" <<'PY'
import csv, sys
from decimal import Decimal
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    charge = next(reader).index("Charge")
    rows, total = 0, Decimal(0)
    for row in reader:
        rows += 1
        total += Decimal(row[charge])
print(rows, int(total * 1_000_000))
PY
)
[[ $csv_rows == "$expected_rows" ]] || fail "the CSV has $csv_rows rows; PostgreSQL holds $expected_rows records in 2025"
[[ $csv_micros == "$expected_micros" ]] || fail "the CSV's Charge sums to $csv_micros micro-units; the records' to $expected_micros"

csv_mb=$(awk -v bytes="$(stat -c %s "$csv")" 'BEGIN { printf "%.1f", bytes / 1048576 }')
rows_per_s=$(echo "$csv_rows / $seconds" | bc)
printf 'export: rows=%d seconds=%.2f rows_per_s=%d gateway_rss_before_mb=%s gateway_peak_rss_mb=%s cli_peak_rss_mb=%s csv_mb=%s\n' \
    "$csv_rows" "$seconds" "$rows_per_s" "$gateway_rss_before" "$gateway_peak" "$cli_peak" "$csv_mb"
