#!/usr/bin/env bash
# test_dryrun.sh - --dry-run validates with the kernel and changes nothing.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

assert_ctl 0 isolate $H4:8001 --reason present
state_snapshot


run_ctl isolate $S4:8001 --dry-run --ttl 5m --reason "just looking"
assert_eq 0 "$RC" "isolate --dry-run exits 0" "$OUT"
[ -n "$OUT" ]
check $? "isolate --dry-run prints what it would do" "$OUT"
log "dry-run output: $(head -n 5 <<<"$OUT")"
assert_unchanged "isolate --dry-run"
assert_ok $S4 8001 A

OUT=$(ctl --json isolate "[$S6]:8001-8003" --dry-run 2>&1)
assert_eq 0 "$?" "--json isolate --dry-run exits 0" "$OUT"
n=$(jq -r '.changes | length' <<<"$OUT" 2>/dev/null)
if [ -n "$n" ] && [ "$n" -ge 1 ] 2>/dev/null; then
	pass "--json dry run lists $n change(s): $(jq -c '.changes[0]' <<<"$OUT")"
else
	fail "--json dry run should list the changes" "$OUT"
fi
assert_unchanged "--json isolate --dry-run"
assert_ok $S6 8002 A

assert_ctl 0 isolate 10.77.0.2/31 --direction all --mode drop --dry-run
assert_unchanged "prefix isolate --dry-run"
assert_ok $S4 8005 A

id=$(list_ids)
assert_ctl 0 rollback "$id" --dry-run
assert_unchanged "rollback ID --dry-run"
assert_refused_fast $H4 8001
assert_ctl 0 rollback --all --dry-run
assert_unchanged "rollback --all --dry-run"
assert_ctl 0 rollback --last --dry-run
assert_unchanged "rollback --last --dry-run"

printf 'isolate %s:8002\nisolate %s:8003\n' $S4 $S4 >"$TMP/dry.txt"
assert_ctl 0 apply -f "$TMP/dry.txt" --dry-run
assert_unchanged "apply --dry-run"
assert_ok $S4 8002 A

# a dry run still validates: bad and protected targets fail as for real
assert_ctl 2 isolate 10.77.0.2:70000 --dry-run
assert_ctl 1 isolate $GW4 --dry-run
assert_unchanged "failed dry runs"

# after all the dry runs, a real isolate works as usual
assert_ctl 0 isolate $S4:8004
assert_refused_fast $S4 8004

finish
