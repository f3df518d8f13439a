#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, on 127.0.0.1 only: munged, slurmctld and
# slurmd (Debian's packages, installed with apt-get if missing). For testing the workflow's
# SLURM profile (workflow/profiles/slurm) without a real cluster; stop it with stop_cluster.sh.
#
#   scripts/slurm/start_cluster.sh [STATE_DIR]      (default: $CW_SLURM_DIR or /tmp/cw-slurm)
#   export SLURM_CONF=STATE_DIR/slurm.conf           (what sbatch, squeue, scancel ... read)
#
# Everything lives in STATE_DIR (config, munge key and socket, spool, logs, pid files), except
# one symlink, /etc/slurm/slurm.conf -> STATE_DIR/slurm.conf: the SLURM executor plugin's job
# step (snakemake-executor-plugin-slurm-jobstep) drops SLURM_CONF from the environment of the
# `srun` it runs inside each job, so that srun only finds the default path. The script refuses
# to replace a real /etc/slurm/slurm.conf (a machine that is part of a cluster).
# One node with this machine's cores and ~90% of its memory, no accounting daemon (slurmdbd),
# ProctrackType=proctrack/linuxproc and TaskPlugin=task/none (no cgroups needed, so it runs
# in a container). Every wait is bounded; on failure the daemons'
# log tails are printed and the exit status is non-zero.
#
# Settings (environment): CW_SLURM_CTLD_PORT (6817), CW_SLURM_SLURMD_PORT (6818),
# CW_SLURMD_TIMEOUT (seconds before a silent node is declared DOWN; 20), CW_SLURM_WAIT_S (30).
set -euo pipefail

STATE=${1:-${CW_SLURM_DIR:-/tmp/cw-slurm}}
CTLD_PORT=${CW_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${CW_SLURM_SLURMD_PORT:-6818}
SLURMD_TIMEOUT=${CW_SLURMD_TIMEOUT:-20}
WAIT_S=${CW_SLURM_WAIT_S:-30}
NODE=cwnode
PARTITION=local

say() { echo "[start_cluster] $*"; }
die() {
    echo "[start_cluster] ERROR: $*" >&2
    for f in "$STATE"/munged.log "$STATE"/slurmctld.log "$STATE"/slurmd.log; do
        [ -s "$f" ] && {
            echo "--- last lines of $f" >&2
            tail -n 15 "$f" >&2
        }
    done
    exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s, at most SECONDS.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what: not after ${limit}s"
        sleep 0.5
    done
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A pid file's process, if it is still a daemon started from STATE (its command line names
# STATE): a stale pid file whose number now belongs to another process does not count.
ours() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(cd "$STATE" && pwd)/"
}

# --- packages ---------------------------------------------------------------------------
missing=()
for cmd in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo scancel srun; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install munge and SLURM (slurmctld, slurmd, client) by hand"
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root (apt-get install munge slurmctld slurmd slurm-client)"
    say "installing munge slurmctld slurmd slurm-client (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    # Debian's maintainer scripts would start the daemons with the default config: forbid it.
    policy_created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_created=1
    fi
    timeout 120 apt-get update -qq || die "apt-get update failed"
    timeout 600 apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null ||
        die "apt-get install munge slurmctld slurmd slurm-client failed"
    [ "$policy_created" -eq 0 ] || rm -f /usr/sbin/policy-rc.d
fi

# --- a fresh state directory ------------------------------------------------------------
if [ -d "$STATE" ] && { ours "$STATE/slurmctld.pid" || ours "$STATE/slurmd.pid" || ours "$STATE/munged.pid"; }; then
    die "a cluster from $STATE is already running: scripts/slurm/stop_cluster.sh $STATE first"
fi
for port in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_in_use "$port" && die "port $port on 127.0.0.1 is in use (another slurmctld/slurmd?); set CW_SLURM_CTLD_PORT / CW_SLURM_SLURMD_PORT"
done
ETC_CONF=/etc/slurm/slurm.conf
ours_or_absent() { # absent, a dangling symlink, or a symlink to a config this script wrote
    [ ! -e "$ETC_CONF" ] && return 0
    [ -L "$ETC_CONF" ] && head -n 1 "$ETC_CONF" | grep -q "scripts/slurm/start_cluster.sh"
}
ours_or_absent || die "$ETC_CONF exists and was not written by this script: this machine has a SLURM setup of its own; use that cluster"
rm -rf "$STATE"
mkdir -p "$STATE"/munge "$STATE"/ctld "$STATE"/spool
chmod 700 "$STATE" "$STATE"/munge
STATE=$(cd "$STATE" && pwd)
USER_NAME=$(id -un)

# --- munge: our own daemon, key and socket (the system's munged, if any, is left alone) --
mungekey --create --keyfile="$STATE/munge/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$STATE/munge/munge.key"
MUNGE_SOCKET=$STATE/munge/munge.socket
force=()
[ "$(id -u)" -ne 0 ] || force=(--force) # munged refuses root without --force
munged "${force[@]}" --socket="$MUNGE_SOCKET" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/munged.pid" --log-file="$STATE/munged.log" --seed-file="$STATE/munge/munge.seed" ||
    die "munged did not start"
wait_for "$WAIT_S" "munged answering on $MUNGE_SOCKET" \
    bash -c "munge --socket='$MUNGE_SOCKET' -n | unmunge --socket='$MUNGE_SOCKET'"

# --- slurm.conf ---------------------------------------------------------------------------
# This machine, as slurmd sees it ("CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2
# ThreadsPerCore=1 RealMemory=24105"); keep ~10% of the memory for the OS and the daemons.
hw=$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
if [ -z "$mem" ] || [ -z "$cpus" ]; then
    die "could not read cores and memory from 'slurmd -C': $hw"
fi
usable=$((mem * 9 / 10))
# shellcheck disable=SC2001 # a pattern with a repetition: sed, not ${var//}
hw=$(sed "s/RealMemory=[0-9]*/RealMemory=$usable/" <<<"$hw")
HOST=$(hostname -s 2>/dev/null || uname -n)

cat >"$STATE/slurm.conf" <<EOF
# Written by scripts/slurm/start_cluster.sh: a one-node test cluster on 127.0.0.1.
ClusterName=cwlocal
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$USER_NAME
SlurmdUser=$USER_NAME
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
# No cgroups: processes are tracked through /proc and tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# No accounting daemon: sacct has nothing to say here, so the workflow's SLURM profile asks
# the executor plugin for its squeue-based status (slurm-status-command: squeue). squeue only
# shows a finished job for MinJobAge seconds, and the plugin treats a job that squeue no
# longer lists as still running; its status polls are at most 180 s apart, and it falls back
# to sacct when MinJobAge < 3 x its first poll interval (40 s by default). 300 s (Slurm's
# default) covers both with room to spare.
MinJobAge=300
# A job whose node fails ends as NODE_FAIL (which Snakemake reports, naming the node
# failure) instead of being silently put back in the queue.
JobRequeue=0
# A node that stops answering is declared DOWN after this many seconds.
SlurmdTimeout=$SLURMD_TIMEOUT
SlurmctldTimeout=30
# A node comes back by itself when its slurmd answers again.
ReturnToService=2
InactiveLimit=0
KillWait=5
Waittime=0
DefMemPerCPU=$((usable / cpus))
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$HOST $hw State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$STATE/slurm.conf
if ! { mkdir -p /etc/slurm && ln -sfn "$SLURM_CONF" "$ETC_CONF"; }; then
    die "cannot link $ETC_CONF -> $SLURM_CONF (run as root)"
fi

# --- the daemons --------------------------------------------------------------------------
slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start"
wait_for "$WAIT_S" "slurmctld answering (scontrol ping)" bash -c 'scontrol ping | grep -q "is UP"'
slurmd -f "$SLURM_CONF" -N "$NODE" || die "slurmd did not start"
wait_for "$WAIT_S" "node $NODE idle (sinfo)" bash -c "sinfo -h -n $NODE -o %T | grep -qx idle"

say "up: slurmctld $(cat "$STATE/slurmctld.pid"), slurmd $(cat "$STATE/slurmd.pid"), munged $(cat "$STATE/munged.pid")"
say "node $NODE: $hw; partition '$PARTITION' (default)"
say "logs in $STATE; use it with:  export SLURM_CONF=$SLURM_CONF"
