#!/usr/bin/env bash
# dptrain on two emulated hosts: two network namespaces joined by a veth pair, mpirun in the
# first, the second reached through an rsh agent (netns_rsh.sh), MPI and Open MPI's own traffic
# over TCP on the veth subnet only. Proves: 2 ranks on 2 nodes give the one-process weights; a
# seed-group run across the hosts writes each seed's checkpoint once, from its own host; kill -9
# of the rank on the second host ends every process within 10 s, its death reported once.
# Prints one SKIP line (status 0) only where creating a namespace is refused.
source "$(dirname "$0")/lib.sh"
E2E=$(cd "$(dirname "$0")" && pwd)
# Names unique per run, so a killed run's leftovers never collide; the addresses are the host
# names (Open MPI takes them as such), so /etc/hosts is left alone.
NS1=dpt2h-$$-1 NS2=dpt2h-$$-2 VETH=dpt$$
SUBNET=10.213.47.0/24 IP1=10.213.47.1 IP2=10.213.47.2

# cleanup: ends whatever still runs in the namespaces and deletes them (the veth pair goes with
# them), and $WORK; on every exit, failure included.
cleanup() {
  local ns
  for ns in "$NS1" "$NS2"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# host NS VETH IP: brings up the host's loopback and its end of the veth pair at IP.
host() {
  ip -n "$1" link set lo up
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" link set "$2" up
}

# dptrain_pid NS: the dptrain process running in namespace NS.
dptrain_pid() {
  local p
  for p in $(ip netns pids "$1"); do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == dptrain ]] && echo "$p"
  done
  return 0
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

for tool in ip strace; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done
if ! why=$(ip netns add "$NS1" 2>&1); then
  echo "SKIP: cannot create a network namespace: $why"
  exit 0
fi
ip netns add "$NS2"
ip link add "${VETH}a" netns "$NS1" type veth peer name "${VETH}b" netns "$NS2"
host "$NS1" "${VETH}a" "$IP1"
host "$NS2" "${VETH}b" "$IP2"

# The agent runs in mpirun's environment and passes it on (OMPI root permission, OpenBLAS's
# threads, the host table). Each emulated host believes it owns the whole machine, so binding is
# off: by default both ranks land on core 0, at a third of the speed.
export OPENBLAS_NUM_THREADS=1 NETNS_RSH_HOSTS="$IP1=$NS1 $IP2=$NS2"
TWO_HOSTS=(timeout 120 ip netns exec "$NS1" "${MPIRUN[@]}" -np 2 --host "$IP1,$IP2" --bind-to none
  --mca plm_rsh_agent "$E2E/netns_rsh.sh" --mca btl tcp,self
  --mca btl_tcp_if_include "$SUBNET" --mca oob_tcp_if_include "$SUBNET")
SMALL=(--data "$DATA" --model cnn2710 --epochs 1 --train-samples 2048 --val 512 --test-samples 512
  --threads 1)

# One rank per host gives the one-process weights; the gradient sums crossed the veth: at least
# half of each of the 32 steps' 2,710 8-byte sums reached the second host.
"$DPTRAIN" train "${SMALL[@]}" --json >"$WORK/one.json"
"${TWO_HOSTS[@]}" "$DPTRAIN" train "${SMALL[@]}" --json >"$WORK/two.json"
grep -q "^dptrain .*: 2 ranks on 2 nodes" "$WORK/two.json" || fail "not 2 nodes: $(head -1 "$WORK/two.json")"
[[ $(sha "$WORK/two.json") == $(sha "$WORK/one.json") ]] ||
  fail "2 hosts gave $(sha "$WORK/two.json"), one process $(sha "$WORK/one.json")"
rx=$(ip netns exec "$NS2" cat "/sys/class/net/${VETH}b/statistics/rx_bytes")
((rx >= 32 * 2710 * 4)) || fail "only $rx bytes reached the second host"
echo "ok: 2 ranks on 2 nodes, $rx bytes over the veth, the one-process weights $(sha "$WORK/one.json")"

# Seeds 1-2 in groups of one rank: rank 0 (host 1) trains seed 1, rank 1 (host 2) seed 2. Files
# are written by renaming a temporary copy over them (src/fsutil.c), so each rank logs its
# renames, in a log named after its namespace.
"${TWO_HOSTS[@]}" sh -c 'exec strace -f -qq -e trace=rename,renameat,renameat2 -o "$0-$(ip netns identify)" "$@"' \
  "$WORK/renames" "$DPTRAIN" train "${SMALL[@]}" --seeds 1-2 --ranks-per-seed 1 \
  --out "$WORK/seeds" >"$WORK/seeds.log" || fail "seed groups: $(cat "$WORK/seeds.log")"
for s in 1 2; do
  h5dump -H "$WORK/seeds/seed-$s/checkpoint.h5" >/dev/null || fail "seed $s: no checkpoint"
  for h in 1 2; do
    n=$(grep -c "/seed-$s/checkpoint.h5\") = 0" "$WORK/renames-dpt2h-$$-$h" || true)
    [[ $n == $((h == s)) ]] || fail "seed $s's checkpoint written $n times on host $h"
  done
done
[[ $(sha "$WORK/seeds/seed-1/result.json") == $(sha "$WORK/one.json") ]] || fail "seed 1 differs"
echo "ok: --seeds 1-2 across the hosts: each seed's checkpoint written once, on its own host"

# kill -9 of the rank on the second host in mid-epoch: every process in either namespace (mpirun,
# the agent's shell, orted, dptrain) is gone within 10 s, the status is not 0, and one line
# reports the death (mpirun's); dptrain reports no error of its own.
"${TWO_HOSTS[@]}" "$DPTRAIN" train --data "$DATA" --model cnn2710 --epochs 3 --threads 1 \
  >"$WORK/kill.out" 2>"$WORK/kill.err" &
job=$!
wait_for 60 "$WORK/kill.out" "^model "
sleep 1
victim=$(dptrain_pid "$NS2")
[[ -n $victim ]] || fail "no dptrain on the second host: $(cat "$WORK/kill.err")"
kill -9 "$victim"
start=$(now_ms)
while [[ -n $(ip netns pids "$NS1"; ip netns pids "$NS2") ]]; do
  (($(now_ms) - start < 10000)) || fail "left 10 s after kill -9: $(ip netns pids "$NS1"; ip netns pids "$NS2")"
  sleep 0.1
done
took=$(($(now_ms) - start))
rc=0
wait "$job" || rc=$?
[[ $rc != 0 && $rc != 124 ]] || fail "exit status $rc (124: it hung)"
report="process rank 1 with PID $victim on node $IP2 exited on signal 9"
grep -q "$report" "$WORK/kill.err" || fail "the death not reported: $(cat "$WORK/kill.err")"
[[ $(grep -Ec "exited on signal|^dptrain train:" "$WORK/kill.err") == 1 ]] ||
  fail "the death reported more than once: $(cat "$WORK/kill.err")"
echo "ok: kill -9 of rank 1: every process ended ${took} ms later, status $rc: $(grep "$report" "$WORK/kill.err")"
echo "PASS"
