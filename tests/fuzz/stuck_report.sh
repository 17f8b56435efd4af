#!/usr/bin/env bash
# run_fuzz.sh's watchdog: a harness whose timeout report stops at libFuzzer's "ALARM" line and
# sleeps (as libFuzzer's handler did after a loop in HDF5) is killed after FUZZ_STUCK_SECONDS,
# counted with --hdf5 and the run goes on to its end; without --hdf5 (or with FUZZ_STRICT_HDF5=1)
# it is a finding: exit status 137.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat >"$work/stuck" <<'HARNESS'
#!/usr/bin/env bash
printf '#1\tINITED cov: 1\n#4096\tpulse  cov: 1\nALARM: working on the last Unit for 2 seconds\n'
printf '       and the timeout value is 2 (use -timeout=N to change)\nMS: 1 ChangeBit-; base unit: 0\n'
exec sleep 600
HARNESS
chmod +x "$work/stuck"
mkdir "$work/corpus"
export FUZZ_STUCK_SECONDS=2

start=$SECONDS
out=$(bash "$here/run_fuzz.sh" --hdf5 "$work/stuck" "$work/corpus" 100000 8)
rc=$?
echo "$out"
((rc == 0)) || fail "--hdf5: exit status $rc, expected 0"
grep -q "timeout report got stuck" <<<"$out" || fail "--hdf5: no 'got stuck' line"
grep -Eq "[2-9] stuck timeout report" <<<"$out" || fail "--hdf5: the run did not go on after a stuck report"
((SECONDS - start < 30)) || fail "--hdf5: took $((SECONDS - start)) s for an 8 s run"
echo "ok: --hdf5: stuck reports killed and counted, the run went on ($((SECONDS - start)) s)"

out=$(bash "$here/run_fuzz.sh" "$work/stuck" "$work/corpus" 100000 8)
rc=$?
((rc == 137)) || fail "without --hdf5: exit status $rc, expected 137"
grep -q "finding (exit 137)" <<<"$out" || fail "without --hdf5: not reported as a finding"
echo "ok: without --hdf5: a stuck report is a finding (exit 137)"
