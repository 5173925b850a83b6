#!/bin/bash
# The measurement behind docs/jobs/threshold-topup.md ("Measured"): a throwaway PostgreSQL
# cluster, a synthetic history of pre-paid time, threshold-topup's first run over it, then three
# "hours" of 1,000 new entries and 100 payments each, timed as the runs report them.
#
#   swift build -c release --product supportbill
#   docs/jobs/threshold-topup-measure.sh 10000 5000000      # customers, entries
#
# Needs the PostgreSQL server programs (initdb, pg_ctl). As root the cluster runs as postgres.
set -euo pipefail
CUSTOMERS=${1:-10000}; ENTRIES=${2:-5000000}
SB=${SUPPORTBILL:-$(pwd)/.build/release/supportbill}
BIN=$( (pg_config --bindir 2>/dev/null || true); ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 )
BIN=$(for d in $BIN; do [ -x "$d/initdb" ] && [ -x "$d/createdb" ] && echo "$d" && break; done)
D=$(mktemp -d /tmp/tt-measure-XXXXXX)
AS=(); if [ "$(id -u)" = 0 ]; then chown postgres "$D"; AS=(runuser -u postgres --); fi
"${AS[@]}" "$BIN/initdb" -D "$D/data" -A trust -U postgres >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$D/data" -l "$D/log" -w -o "-k $D -c listen_addresses='' -c shared_buffers=1GB -c max_wal_size=8GB -c fsync=off -c synchronous_commit=off" start >/dev/null
trap '"${AS[@]}" "$BIN/pg_ctl" -D "$D/data" -m fast stop >/dev/null; rm -rf "$D"' EXIT
PSQL=("$BIN/psql" -X -q -h "$D" -U postgres -d perf -v ON_ERROR_STOP=1)
"$BIN/createdb" -h "$D" -U postgres perf
CONN="host=$D dbname=perf user=postgres"
"$SB" migrate --database "$CONN" >/dev/null

# 5 services per customer: 2 pre-paid (1.00/h, packs of 10.00, threshold 0), 3 metered; one
# ticket per service; the entries on the pre-paid services' tickets, spread over October 2026.
"${PSQL[@]}" -v customers="$CUSTOMERS" -v entries="$ENTRIES" <<'SQL'
INSERT INTO plans (id, code, name, billing) VALUES (1, 'prepaid', 'Pre-paid Support Credit', 'prepaid'), (2, 'metered', 'Metered', 'metered');
INSERT INTO plan_prices (plan_id, currency, hourly_rate, topup_amount, threshold) VALUES (1, 'USD', 100, 1000, 0), (2, 'USD', 6000, 0, 0);
INSERT INTO customers (id, name, currency, timezone)
SELECT g, 'c' || g, 'USD', (ARRAY['UTC','Europe/Berlin','America/New_York','Asia/Tokyo','Pacific/Kiritimati'])[1 + g % 5]
  FROM generate_series(1, :customers) g;
INSERT INTO services (id, customer_id, plan_id, currency, status, starts_on)
SELECT g, 1 + (g - 1) / 5, CASE WHEN (g - 1) % 5 < 2 THEN 1 ELSE 2 END, 'USD', 'active', DATE '2026-01-01'
  FROM generate_series(1, :customers * 5) g;
INSERT INTO tickets (id, customer_id, service_id, subject, opened_at)
SELECT s.id, s.customer_id, s.id, 't', TIMESTAMPTZ '2026-10-01' FROM services s;
INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes)
SELECT 1 + (p - 1) / 2, 5 * ((p - 1) / 2) + 1 + (p - 1) % 2,
       TIMESTAMPTZ '2026-10-01' + (g % 2592000) * interval '1 second', 5 + g % 116
  FROM generate_series(1, :entries) g, LATERAL (SELECT 1 + g % (:customers * 2) AS p) x;
ANALYZE;
SQL

run() {
  local out; out=$("$SB" run threshold-topup --database "$CONN" --as-of "$@" 2>/dev/null) || true
  echo "$(grep -o '[0-9]* ms' <<<"$out" | head -1)  ::  $(sed -n 4p <<<"$out")"
}
echo "first run, debits the history:  $(run 2026-11-01T00:05:00Z)"
"${PSQL[@]}" -c "VACUUM ANALYZE"
echo "idle run:                       $(run 2026-11-01T00:35:00Z)"
for hour in 1 2 3; do
  "${PSQL[@]}" -v customers="$CUSTOMERS" -v seed=$hour -v worked="2026-11-01T0$hour:30:00Z" <<'SQL'
INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes)
SELECT 1 + (p - 1) / 2, 5 * ((p - 1) / 2) + 1 + (p - 1) % 2, TIMESTAMPTZ :'worked', 5 + g % 116
  FROM generate_series(1, 1000) g, LATERAL (SELECT 1 + ((g * 7919 + :seed) % (:customers * 2)) AS p) x;
INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at)
SELECT customer_id, id, total, currency, TIMESTAMPTZ :'worked'
  FROM invoices WHERE kind = 'topup' AND status = 'issued' ORDER BY id LIMIT 100;
SQL
  echo "hour $hour, dry run:              $(run 2026-11-01T0$((hour + 1)):05:00Z --dry-run)"
  echo "hour $hour:                       $(run 2026-11-01T0$((hour + 1)):05:00Z)"
  echo "hour $hour, rerun:                $(run 2026-11-01T0$((hour + 1)):06:00Z)"
done
