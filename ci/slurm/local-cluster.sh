#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (Debian's slurmctld + slurmd + munge), for
# tests/tests/slurm.rs: the job files `videval plan --emit slurm` writes are submitted to it.
# Needs root (it writes /etc/slurm and starts daemons); safe to run again (it restarts them).
# Prints "ready" once the node accepts jobs, or why it could not start and exits 1.
#
#   apt-get install slurmd slurmctld slurm-client munge   # ci/setup.sh --tests does this
#   ci/slurm/local-cluster.sh
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then echo "local-cluster.sh: needs root" >&2; exit 1; fi
for tool in slurmctld slurmd munged sinfo; do
  command -v "$tool" >/dev/null || { echo "local-cluster.sh: $tool is not installed" >&2; exit 1; }
done
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
state=/var/spool/slurmctld
mkdir -p /etc/slurm "$state" /var/spool/slurmd /var/log/slurm /run/munge /etc/munge
# A key for munge (authentication between the daemons and the clients).
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
# No cgroups (containers rarely allow them): processes are tracked through /proc.
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=videval-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MaxArraySize=1001
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld -i
/usr/sbin/slurmd
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo ready
    exit 0
  fi
  sleep 1
done
echo "local-cluster.sh: the node did not come up; slurmd log:" >&2
tail -20 /var/log/slurm/slurmd.log >&2 || true
tail -20 /var/log/slurm/slurmctld.log >&2 || true
exit 1
