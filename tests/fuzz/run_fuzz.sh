#!/usr/bin/env bash
# One harness's ctest run: RUNS inputs, at most SECONDS, from the committed corpus, with fixed
# seeds (the same binary and corpus give the same run). The corpus folder is only read; what a
# run writes goes to fuzz-<harness>/ beside the harness, emptied first: new inputs (new/),
# libFuzzer's logs (log-<seed>) and the reproducers of findings (crash-*, leak-*, timeout-*,
# oom-*, named in the output). Exits non-zero on any finding, with two exceptions, both reported:
# a timeout that does not recur when its input runs again with 60 s is the machine's (slow-*);
# and (--hdf5) a fault of libhdf5 itself on a corrupt file (in_hdf5.awk: a crash on HDF5's own
# memory, a huge malloc or a loop in HDF5; HDF5 1.10 has many, README.md lists some) is kept as
# hdf5-crash-*, hdf5-oom-* or hdf5-timeout-*, and so is a timeout report that never came
# (run_watched); the run goes on with the next seed after any of these.
# FUZZ_STRICT_HDF5=1 makes HDF5's faults fail too.
#   run_fuzz.sh [--hdf5] HARNESS CORPUS RUNS SECONDS [libFuzzer options...]
set -uo pipefail
hdf5=0 limits=(-timeout=10 -rss_limit_mb=2048)
if [[ $1 == --hdf5 ]]; then
  # A size from a corrupt header makes HDF5 ask for gigabytes: caught at the malloc, whose stack
  # tells HDF5's from dptrain's, rather than as the process's size. HDF5's loops on corrupt
  # files are cut sooner.
  hdf5=1 limits=(-timeout=2 -rss_limit_mb=4096 -malloc_limit_mb=1024)
  shift
fi
harness=$1 corpus=$2 runs=$3 seconds=$4
shift 4
out=$(dirname "$harness")/fuzz-$(basename "$harness")
rm -rf "$out"
mkdir -p "$out/new"
# The harnesses' input files (fuzz_file.c), in memory when there is /dev/shm; a harness that
# crashes leaves its folder behind, so all of them go in one that is removed here.
files=$(mktemp -d /dev/shm/dptrain-fuzz-run.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$files"' EXIT
export FUZZ_TMPDIR=$files
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0}

# Whether the sanitizer report in log $1 is a fault of libhdf5 itself (in_hdf5.awk says how).
in_hdf5() { awk -f "$(dirname "$0")/in_hdf5.awk" "$1"; }
# The input a finding in log $1 was written to.
artifact_of() { sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$1" | tail -1; }
# The input of the timeout in log $1 again, with 60 s (printing a report on a busy machine can
# take seconds too, cutting it short): its log in $1.replay; status 0 when that run passes.
replay_passes() {
  "$harness" "${limits[@]}" -timeout=60 "$(artifact_of "$1")" >"$1.replay" 2>&1
}
# The inputs libFuzzer ran, from its final statistics in log $1 (else its last status line).
executed() {
  sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1 | grep . ||
    sed -n 's/^#\([0-9]*\)\t.*/\1/p' "$1" | tail -1
}
# Runs a command, output to log $1. libFuzzer's timeout handler can itself get stuck (seen after
# a loop in HDF5: "ALARM: working on the last Unit", then nothing, the process asleep, no
# report, no input written): a log left at that alarm for FUZZ_STUCK_SECONDS (60) ends it with
# SIGKILL (status 137).
run_watched() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if tail -3 "$log" | grep -q '^ALARM: working on the last Unit' &&
      (($(date +%s) - $(stat -c %Y "$log") > ${FUZZ_STUCK_SECONDS:-60})); then
      kill -9 "$pid"
      break
    fi
  done
  { wait "$pid"; } 2>/dev/null # (no "Killed" line from the shell)
}

start=$SECONDS deadline=$((SECONDS + seconds))
seed=1 left=$runs total=0 hdf5_faults=0 slow=0 stuck=0
while :; do
  log=$out/log-$seed
  budget=$((deadline - SECONDS))
  run_watched "$log" "$harness" -seed="$seed" -runs="$left" \
    -max_total_time=$((budget > 1 ? budget : 1)) "${limits[@]}" -print_final_stats=1 \
    -artifact_prefix="$out/" "$@" "$out/new" "$corpus"
  rc=$?
  n=$(executed "$log")
  total=$((total + ${n:-0})) left=$((left - ${n:-0}))
  # A stuck timeout report leaves nothing to classify or replay: with --hdf5 (where HDF5's loops
  # are the likely cause) it is counted and the run goes on; otherwise it is a finding.
  if ((rc == 137)) && tail -3 "$log" | grep -q '^ALARM: working on the last Unit'; then
    echo "seed $seed: libFuzzer's timeout report got stuck (killed after" \
      "${FUZZ_STUCK_SECONDS:-60} s; the input is lost)"
    if ((hdf5)) && [[ ${FUZZ_STRICT_HDF5:-0} != 1 ]]; then
      stuck=$((stuck + 1)) seed=$((seed + 1))
      if ((left > 0 && deadline - SECONDS > 0)); then continue; fi
      rc=0
    fi
    break
  fi
  # A timeout not placed in HDF5 (its report may have been cut short) is run again with 60 s:
  # gone, it was the machine's; else its new report is classified.
  if ((rc != 0)) && ! { ((hdf5)) && in_hdf5 "$log"; } && grep -q "ERROR: libFuzzer: timeout" "$log"; then
    if replay_passes "$log"; then
      artifact=$(artifact_of "$log")
      mv "$artifact" "$out/slow-$(basename "$artifact")"
      echo "seed $seed: a timeout that did not recur with -timeout=60 (a busy machine; not" \
        "counted): input $out/slow-$(basename "$artifact")"
      slow=$((slow + 1)) seed=$((seed + 1))
      if ((left > 0 && deadline - SECONDS > 0)); then continue; fi
      rc=0
      break
    fi
    grep -q "ERROR: libFuzzer: timeout" "$log.replay" || log=$log.replay
  fi
  if ((rc != 0)) && ((hdf5)) && [[ ${FUZZ_STRICT_HDF5:-0} != 1 ]] && in_hdf5 "$log"; then
    artifact=$(artifact_of "${log%.replay}")
    kept=$out/hdf5-$(basename "$artifact")
    mv "$artifact" "$kept"
    echo "seed $seed: fault inside HDF5 (not counted): $(grep -m1 -E '^==[0-9]+== ?ERROR' "$log" |
      cut -c1-100); input $kept"
    hdf5_faults=$((hdf5_faults + 1)) seed=$((seed + 1))
    if ((left > 0 && deadline - SECONDS > 0)); then continue; fi
    rc=0
  fi
  break
done
grep -E '^(#[0-9]+ +(INITED|DONE)|==[0-9]+==|SUMMARY|artifact_prefix|fuzz )' "$log" | uniq
elapsed=$((SECONDS - start))
echo "$(basename "$harness"): $total inputs in $elapsed s ($((total / (elapsed > 0 ? elapsed : 1))) a" \
  "second)$( ((hdf5)) && echo "; $hdf5_faults fault(s) inside HDF5")$( ((hdf5_faults)) &&
    echo ", kept in $out/hdf5-*")$( ((slow)) && echo "; $slow timeout(s) of a busy machine, $out/slow-*")$( ((stuck)) &&
      echo "; $stuck stuck timeout report(s)")"
if ((rc != 0)); then
  echo "--- $(basename "$harness"): finding (exit $rc); the whole log, $log:"
  cat "$log"
fi
exit "$rc"
