#!/usr/bin/env bash
# One batch shared by several workers through PostgreSQL (--db postgres://), on
# loopback against a local nginx:
#
#   1. throughput: 20,000 items into SQLite (one process), and into PostgreSQL with 1, 2
#      and 4 workers on this machine (each --concurrency 16);
#   2. a worker killed with kill -9: 4 workers share 20,000 items (--lease 2s); one is
#      killed a second in; the items each was claimed for (PostgreSQL counts the claims),
#      the items recorded (every item, once), and how long the others took to finish.
#
#   bash bench/shared.sh     (needs PostgreSQL and nginx; installs them on Debian)
#
# Prints the figures and writes bench/results/shared.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need_packages
N=${N:-20000}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); fi
build_steady
PGPORT=${PGPORT:-18251}
PGDIR=$WORK/pg
mkdir -p "$PGDIR"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
trap 'as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true; cleanup' EXIT
psql() { command psql -h 127.0.0.1 -p "$PGPORT" -U postgres -At "$@"; }
start_nginx 18252
seq 1 "$N" | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:18252/items/&\"}|" > "$WORK/in.jsonl"
now() { date +%s.%N; }

# 1. Throughput.
t0=$(now)
"$STEADY" batch "$WORK/in.jsonl" --db "$WORK/r.db" --concurrency 16 --quiet
sqlite_rate=$(echo "scale=0; $N / ($(now) - $t0)" | bc)
echo "1. SQLite, one process: $sqlite_rate items/s"
declare -A pg_rate
for workers in 1 2 4; do
  psql -d postgres -c "DROP DATABASE IF EXISTS b$workers" -c "CREATE DATABASE b$workers" >/dev/null
  url="postgres://postgres@127.0.0.1:$PGPORT/b$workers"
  pids=()
  t0=$(now)
  for _ in $(seq "$workers"); do
    "$STEADY" batch "$WORK/in.jsonl" --db "$url" --concurrency 16 --quiet & pids+=($!)
  done
  wait "${pids[@]}"
  pg_rate[$workers]=$(echo "scale=0; $N / ($(now) - $t0)" | bc)
  split=$(psql -d "b$workers" -c "SELECT string_agg(n::text, ' / ') FROM (SELECT count(*) AS n FROM steady_batch_items GROUP BY run_id ORDER BY 1 DESC) t")
  echo "   PostgreSQL, $workers worker(s): ${pg_rate[$workers]} items/s (items per worker: $split)"
done

# 2. kill -9 of one worker of four.
psql -d postgres -c "CREATE DATABASE k" >/dev/null
url="postgres://postgres@127.0.0.1:$PGPORT/k"
pids=()
t0=$(now)
for _ in 1 2 3 4; do
  "$STEADY" batch "$WORK/in.jsonl" --db "$url" --concurrency 16 --lease 2s --quiet & pids+=($!)
done
sleep 1
kill -9 "${pids[0]}"
wait "${pids[@]:1}"
kill_secs=$(echo "scale=2; $(now) - $t0" | bc)
recorded=$(psql -d k -c "SELECT count(*) FROM steady_batch_items WHERE state = 'final'")
twice=$(psql -d k -c "SELECT count(*) FROM steady_batch_items WHERE claims > 1")
killed=$(psql -d k -c "SELECT count(*) FROM steady_batch_items i JOIN steady_batch_runs r ON r.id = i.run_id WHERE r.status = 'running'")
echo "2. 4 workers, one killed after 1 s: $recorded of $N recorded once each, $twice claimed twice (bound: --concurrency 16), the killed worker had recorded $killed; all done in ${kill_secs}s"

mkdir -p bench/results
cat > bench/results/shared.json <<JSON
{"items": $N, "sqlite_items_per_s": $sqlite_rate, "postgres_items_per_s": {"1": ${pg_rate[1]}, "2": ${pg_rate[2]}, "4": ${pg_rate[4]}},
 "kill9": {"recorded": $recorded, "claimed_twice": $twice, "killed_worker_recorded": $killed, "seconds": $kill_secs}}
JSON
