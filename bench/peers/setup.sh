#!/usr/bin/env bash
# Creates the Python environments for `npm run bench -- peers`: one virtualenv per peer tool under
# bench/.peers-venv/<tool>/ (gitignored), so their dependency pins never fight each other. Every
# version is pinned; Python's duckdb is the same release as the Node binding (@duckdb/node-api 1.5.6-r.1).
# Idempotent: a venv whose pins are already installed is left alone. Needs python3 (>= 3.10) and PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.peers-venv"
py="${PYTHON:-python3}"
DUCKDB=1.5.6
declare -A PINS=(
  [sqlmesh]="sqlmesh==0.236.4 duckdb==$DUCKDB"
  [dagster]="dagster==1.13.27 dagster-duckdb==0.29.27 duckdb==$DUCKDB"
  [dbt]="dbt-core==1.11.8 dbt-duckdb==1.11.1 duckdb==$DUCKDB"
  [raw]="duckdb==$DUCKDB"
)
mkdir -p "$root"
for tool in raw sqlmesh dagster dbt; do
  venv="$root/$tool"
  stamp="$venv/.pins"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "${PINS[$tool]}" ]]; then
    echo "peers setup: $tool up to date ($venv)"; continue
  fi
  echo "peers setup: $tool <- ${PINS[$tool]}"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check ${PINS[$tool]}
  echo "${PINS[$tool]}" > "$stamp"
done
for tool in raw sqlmesh dagster dbt; do
  "$root/$tool/bin/pip" freeze --disable-pip-version-check | grep -iE '^(duckdb|sqlmesh|dagster|dagster-duckdb|dbt-core|dbt-duckdb)==' | sed "s/^/  $tool: /"
done
