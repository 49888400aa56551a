#!/usr/bin/env bash
# Make sure the real services the tests talk to are up: PostgreSQL (started if down, with the
# `test` database), Debian's Chromium for the dashboard browser test, a one-node Slurm and
# nginx (installed if missing).
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL is down: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"

if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian chromium for the dashboard browser test"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# A real one-node Slurm (slurmctld, slurmd, munged) for the Slurm tests; left running, as
# PostgreSQL is. The Slurm test starts it itself when it is down, and stops what it started.
"$(dirname "$0")/slurm-one-node.sh" start >/dev/null
sinfo -h -o "Slurm: partition %P, node %N %t"

if ! command -v nginx >/dev/null; then
    echo "Installing nginx to check the dashboard's reverse-proxy example"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq nginx-light >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
fi
