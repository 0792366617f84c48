#!/usr/bin/env bash
# A streaming read replica of the local PostgreSQL (127.0.0.1:5432) on this machine, for the tests of
# govgrid.replica (tests/test_replica.py) and for trying DATABASE_REPLICA_URL by hand:
#   bash scripts/replica.sh            # start it (made the first time), wait until it streams
#   bash scripts/replica.sh stop       # stop it (`stop immediate`: as in a crash); `start` again later
#   bash scripts/replica.sh drop       # stop it and delete it
# A PostgreSQL 15 cluster `replica` (REPLICA_CLUSTER) on port 5439 (REPLICA_PORT), copied whole from the
# primary with pg_basebackup (every database of the cluster: about as long as copying its files), then
# a hot standby that streams the primary's WAL (standby.signal and primary_conninfo from `-R`).
# The primary needs wal_level=replica (PostgreSQL's default) and a replication entry in pg_hba.conf for
# 127.0.0.1, which this adds (trust, as the local cluster's other entries) and reloads.
# Idempotent: a second run finds the replica streaming and does nothing.
set -euo pipefail

VERSION=${REPLICA_PG_VERSION:-15}
CLUSTER=${REPLICA_CLUSTER:-replica}
PORT=${REPLICA_PORT:-5439}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
HOST=127.0.0.1
DATA=/var/lib/postgresql/$VERSION/$CLUSTER
SLOT=govgrid_$CLUSTER

as_postgres() { if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi; }
log() { echo "==> replica: $*" >&2; }
primary() { psql -h $HOST -p "$PRIMARY_PORT" -U postgres -d postgres -XAtqc "$1"; }
on_replica() { psql -h $HOST -p "$PORT" -U postgres -d postgres -XAtqc "$1" 2>/dev/null; }
exists() { pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {found=1} END {exit !found}'; }
running() { pg_isready -q -h $HOST -p "$PORT"; }
streaming() { [[ $(on_replica "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") == 1 ]]; }
ctl() { pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" "$@"; }

stop() { if exists && running; then log "stopping"; ctl stop -m "${1:-fast}"; fi; }

drop() {
  stop
  if exists; then log "deleting the cluster"; pg_dropcluster "$VERSION" "$CLUSTER"; fi
  primary "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
           WHERE slot_name = '$SLOT' AND NOT active" >/dev/null
}

allow_replication() {
  local hba wal
  wal=$(primary "SHOW wal_level")
  if [[ $wal == minimal ]]; then
    log "the primary has wal_level=minimal: setting replica (needs a restart of the primary)"
    primary "ALTER SYSTEM SET wal_level = replica"
    echo "restart the primary cluster, then run this again" >&2
    exit 1
  fi
  hba=$(primary "SHOW hba_file")
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    log "allowing replication from 127.0.0.1 in $hba"
    # First in the file: pg_hba.conf takes the first matching line.
    sed -i '1i host replication all 127.0.0.1/32 trust  # scripts/replica.sh: the local read replica' "$hba"
    primary "SELECT pg_reload_conf()" >/dev/null
  fi
  # The replica's slot keeps the WAL it has not streamed yet (a busy primary recycles it within seconds),
  # but a replica left stopped must not fill the disk: past this much its slot is given up (and the
  # next start copies again).
  if [[ $(primary "SHOW max_slot_wal_keep_size") == -1 ]]; then
    log "limiting the WAL a slot may hold on the primary to 4 GB"
    primary "ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'" && primary "SELECT pg_reload_conf()" >/dev/null
  fi
}

create() {
  allow_replication
  exists && drop
  log "creating the cluster $VERSION/$CLUSTER on port $PORT"
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
  # A hot standby must allow at least what the primary does.
  local conf=/etc/postgresql/$VERSION/$CLUSTER/conf.d/replica.conf setting
  : >"$conf"
  for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions \
                 max_locks_per_transaction; do
    echo "$setting = $(primary "SHOW $setting")" >>"$conf"
  done
  echo "listen_addresses = '$HOST'" >>"$conf"
  echo "hot_standby = on" >>"$conf"
  # A disposable copy for tests and trials: no fsync, so stopping and starting it (even as after a
  # crash) takes a moment instead of syncing every file on a busy disk. A crash of the machine: `drop`.
  echo "fsync = off" >>"$conf"
  # Who may connect: as on the primary (trust on loopback, on this development machine).
  cp "$(primary "SHOW hba_file")" "/etc/postgresql/$VERSION/$CLUSTER/pg_hba.conf"
  rm -rf "${DATA:?}"/*
  log "copying the primary (pg_basebackup; $(primary "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database"))"
  local started=$SECONDS
  as_postgres pg_basebackup -h $HOST -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast -C -S "$SLOT"
  log "copied in $((SECONDS - started)) s"
}

start() {
  local attempt
  for attempt in 1 2; do
    if ! exists || [[ ! -f $DATA/standby.signal ]]; then create; fi
    running || ctl start
    for _ in $(seq 1 60); do running && break; sleep 0.5; done
    for _ in $(seq 1 40); do streaming && return 0; sleep 0.5; done
    # Started but not streaming: the WAL it needs is gone from the primary (no slot keeps it). Copy again.
    log "not streaming from the primary: copying it again"
    drop
  done
  log "could not start a streaming replica"
  exit 1
}

case "${1:-start}" in
  start) start; log "streaming on $HOST:$PORT" ;;
  stop) stop "${2:-fast}" ;;  # `stop immediate`: as in a crash
  drop) drop ;;
  *) echo "usage: $0 [start|stop|drop]" >&2; exit 2 ;;
esac
