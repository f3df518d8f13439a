#!/usr/bin/env bash
# Stop the test cluster that scripts/slurm/start_cluster.sh started from STATE_DIR: cancel its
# jobs, then stop slurmd, slurmctld and munged by the process ids in STATE_DIR's pid files
# (nothing else is touched), and remove its /etc/slurm/slurm.conf symlink. Every wait is
# bounded; a daemon that ignores SIGTERM for 10 s is killed. Safe to run twice, or on a
# cluster that never came up.
#
#   scripts/slurm/stop_cluster.sh [STATE_DIR]       (default: $CW_SLURM_DIR or /tmp/cw-slurm)
set -uo pipefail

STATE=${1:-${CW_SLURM_DIR:-/tmp/cw-slurm}}
say() { echo "[stop_cluster] $*"; }
# A pid file's process, if it is still the daemon started from this STATE_DIR (its command
# line names STATE_DIR): a stale pid file whose number now belongs to another process is ignored.
ours() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE/"
}

if [ ! -d "$STATE" ]; then
    say "nothing to stop: no $STATE"
    exit 0
fi
STATE=$(cd "$STATE" && pwd)
export SLURM_CONF=$STATE/slurm.conf

# Jobs first, while slurmctld and slurmd can still end them (with proctrack/linuxproc a job's
# processes outlive a stopped slurmd). At most 20 s.
if ours "$STATE/slurmctld.pid" && [ -f "$SLURM_CONF" ]; then
    if [ -n "$(timeout 10 squeue -h -t PENDING,RUNNING,CONFIGURING,COMPLETING -o %i 2>/dev/null)" ]; then
        say "cancelling the cluster's jobs"
        timeout 10 scancel --full --quiet --state=PENDING >/dev/null 2>&1 || true
        timeout 10 scancel --full --quiet --state=RUNNING >/dev/null 2>&1 || true
        for _ in $(seq 40); do
            [ -z "$(timeout 10 squeue -h -t PENDING,RUNNING,CONFIGURING,COMPLETING -o %i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
fi

status=0
for daemon in slurmd slurmctld munged; do
    pidfile=$STATE/$daemon.pid
    if ! ours "$pidfile"; then
        continue
    fi
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$daemon ($pid) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
        kill -0 "$pid" 2>/dev/null && {
            say "ERROR: $daemon ($pid) still running"
            status=1
        }
    fi
    say "stopped $daemon ($pid)"
done
# The symlink start_cluster.sh made, if it still points here.
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$STATE/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
fi
exit $status
