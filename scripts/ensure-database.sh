#!/usr/bin/env bash
# Create the database named by DATABASE_URL (default govgrid) with PostGIS, when it does not exist.
set -euo pipefail
url=${DATABASE_URL:-postgis://postgres@127.0.0.1:5432/govgrid}
name=${url##*/}; name=${name%%\?*}
admin_url=$(echo "$url" | sed -E 's#^postgis://#postgresql://#; s#/[^/]*$#/postgres#')
if [[ "$(psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != "1" ]]; then
  echo "==> creating database $name"
  psql "$admin_url" -qc "CREATE DATABASE \"$name\""
fi
db_url=$(echo "$url" | sed -E 's#^postgis://#postgresql://#')
psql "$db_url" -qc "CREATE EXTENSION IF NOT EXISTS postgis" 2>&1 | grep -v 'already exists' || true
