#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the cluster tests (run as root; no systemd,
# no cgroups). `start` installs the Debian packages when missing, writes a munge key and a
# slurm.conf for this host, starts munged, slurmctld and slurmd, and waits until the `debug`
# partition is idle; `stop` ends the daemons it started; `status` prints `sinfo`.
# State lives under $ALGEN_SLURM_DIR (default /tmp/algen-slurm): pids, logs, spool.
set -euo pipefail
dir=${ALGEN_SLURM_DIR:-/tmp/algen-slurm}
conf=/etc/slurm/slurm.conf

log() { echo "local-slurm: $*" >&2; }

install() {
  command -v slurmctld >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null && return
  [ "$(id -u)" = 0 ] || { log "not root: cannot install slurm"; return 1; }
  log "installing slurmctld slurmd slurm-client munge"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  mkdir -p /etc/slurm "$dir"/{spool/ctld,spool/d,log}
  cat >"$conf" <<CONF
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
ReturnToService=2
MpiDefault=none
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    head -c 1024 /dev/urandom >/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  munged --force 2>/dev/null || true
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
  log "munged did not start"; return 1
}

start() {
  install
  write_conf
  start_munge
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 120); do
    if sinfo -h -o '%a %t' 2>/dev/null | grep -Eq '^up (idle|mix|alloc)'; then
      log "cluster up: $(sinfo -h -o '%P %D %t %c' | tr '\n' ' ')"; return
    fi
    sleep 0.5
  done
  log "the partition did not come up; logs in $dir/log"; sinfo >&2 || true; return 1
}

stop() {
  for d in slurmd slurmctld munged; do pkill -x "$d" 2>/dev/null || true; done
  for _ in $(seq 100); do
    alive=0; for d in slurmd slurmctld munged; do pgrep -x "$d" >/dev/null && alive=1; done
    [ $alive = 1 ] || { log "stopped"; return; }
    sleep 0.1
  done
  for d in slurmd slurmctld munged; do pkill -9 -x "$d" 2>/dev/null || true; done
  log "stopped (killed)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
