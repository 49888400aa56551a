#!/usr/bin/env bash
# A real one-node Slurm on this machine, for the tests: Debian's slurm-wlm and munge, run as
# root without systemd.
#   scripts/slurm-one-node.sh install   # apt-get the packages when missing
#   scripts/slurm-one-node.sh start     # configure (once) and start munged, slurmctld, slurmd
#   scripts/slurm-one-node.sh stop      # stop only the daemons `start` started, by their pid
# `start` prints the pids it started on its last line ("started: PID ..."), or "started: none"
# when every daemon was already up. A slurm.conf this script did not write is never touched.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by spacehpo scripts/slurm-one-node.sh"
STARTED=/run/spacehpo-slurm.pids

install() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return
    echo "Installing Debian slurm-wlm and munge for the Slurm tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }
}

configure() {
    if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        echo "$CONF is this site's own: using it as it is"
        return
    fi
    local host cpus mem
    host=$(hostname)
    # At least 4 CPUs declared (config_overrides), so an array of 3 one-CPU workers runs at once
    # on a 2-core machine.
    cpus=$(( $(nproc) > 4 ? $(nproc) : 4 ))
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    cat >"$CONF" <<EOF
$MARK
ClusterName=spacehpo-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
KillWait=30
MinJobAge=600
SchedulerParameters=sched_interval=1
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey -c -k /etc/munge/munge.key 2>/dev/null \
            || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    echo "$(cat /run/munge/munged.pid)" >>"$STARTED"
}

start_daemon() {  # NAME PIDFILE
    if [ -s "$2" ] && kill -0 "$(cat "$2")" 2>/dev/null; then return; fi
    "/usr/sbin/$1"
    for _ in $(seq 1 50); do [ -s "$2" ] && break; sleep 0.1; done
    cat "$2" >>"$STARTED"
}

start() {
    configure
    : >"$STARTED.new" && mv "$STARTED.new" "$STARTED"
    start_munge
    start_daemon slurmctld /run/slurmctld.pid
    start_daemon slurmd /run/slurmd.pid
    for _ in $(seq 1 60); do
        sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break
        sleep 0.5
    done
    sinfo
    echo "started: $(tr '\n' ' ' <"$STARTED" | sed 's/ $//' | grep . || echo none)"
}

stop() {
    [ -f "$STARTED" ] || return 0
    # Reverse order: slurmd, then slurmctld, then munged.
    for pid in $(tac "$STARTED"); do kill "$pid" 2>/dev/null || true; done
    rm -f "$STARTED"
}

case "${1:-}" in
    install) install ;;
    start) install && start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
