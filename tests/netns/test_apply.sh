#!/usr/bin/env bash
# test_apply.sh - `isolctl apply -f FILE|-`: many actions in one transaction;
# one bad line applies none and the message names FILE:LINE.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

# ---- three good lines --------------------------------------------------------------------------
cat >"$TMP/good.txt" <<EOF
# incident 42: isolate the broker, its v6 twin and a flaky range
isolate $S4:8001 --ttl 10m --reason "apply one"

isolate [$S6]:8002   # trailing comment
isolate $H4:8003-8004 --mode drop --reason 'single quoted'
EOF
assert_ctl 0 apply -f "$TMP/good.txt"
assert_eq 3 "$(list_json | jq length)" "three actions listed"
assert_refused_fast $S4 8001
assert_refused_fast $S6 8002
assert_timeout $H4 8004 300
assert_ok $S4 8002 A
reasons=$(list_json | jq -r '[.[].reason // ""] | sort | join("|")')
assert_eq "|apply one|single quoted" "$reasons" "reasons parsed with their quotes"
ok_origin=$(list_json | jq -r '[.[].origin] | unique | join(",")')
log "origin of applied actions: $ok_origin"
assert_eq 3 "$(kernel_count)" "three elements in the kernel"
state_snapshot


# ---- one bad line: none applied, exit 2, FILE:LINE -----------------------------------------------
bad_file() { # NAME LINE CONTENT...: a file whose line LINE is bad
	local f="$TMP/$1" want=$2
	shift 2
	printf '%s\n' "$@" >"$f"
	run_ctl apply -f "$f"
	assert_eq 2 "$RC" "apply $1 (bad line $want) exits 2" "$OUT"
	assert_contains "$OUT" "$f:$want" "the message names $1:$want"
	assert_unchanged "apply $1"
}
bad_file port.txt 2 "isolate $S4:8005" "isolate $S4:70000" "isolate $S4:8006"
bad_file verb.txt 3 "isolate $S4:8005" "" "frobnicate $S4:8006" "isolate $S4:8007"
bad_file option.txt 1 "isolate $S4:8005 --sideways" "isolate $S4:8006"
bad_file quote.txt 2 "isolate $S4:8005" "isolate $S4:8006 --reason \"unterminated"
bad_file dryrun.txt 2 "isolate $S4:8005" "isolate $S4:8006 --dry-run"
bad_file last.txt 4 "isolate $S4:8005" "isolate $S4:8006" "isolate $S4:8007" "isolate $S4:8008/icmp"
assert_ok $S4 8005 A

# every bad line is named, not just the first
printf '%s\n' "isolate $S4:8005" "isolate $S4:70000" "isolate $S4:8006" "frobnicate x" \
	"isolate $S4:8007" >"$TMP/two.txt"
run_ctl apply -f "$TMP/two.txt"
assert_eq 2 "$RC" "apply with two bad lines exits 2" "$OUT"
assert_contains "$OUT" "$TMP/two.txt:2" "both bad lines are named: 2"
assert_contains "$OUT" "$TMP/two.txt:4" "both bad lines are named: 4"
assert_contains "$OUT" "2 bad lines; nothing was applied" "and counted"
assert_unchanged "apply with two bad lines"
# comments may hold any bytes; an action's line must be UTF-8
printf '# caf\xe9 \xff\xfe\nisolate %s:8005 --reason "caf\xe9"\n' $S4 >"$TMP/latin1.txt"
run_ctl apply -f "$TMP/latin1.txt"
assert_eq 2 "$RC" "an action line that is not UTF-8 exits 2" "$OUT"
assert_contains "$OUT" "latin1.txt:2: line is not valid UTF-8" "and names its line, not the comment's"
assert_unchanged "apply of a line that is not UTF-8"
printf '# caf\xe9 \xff\xfe\nisolate %s:8005 --dry-run\n' $S4 >"$TMP/latin1.txt"
run_ctl apply -f "$TMP/latin1.txt"
assert_contains "$OUT" "latin1.txt:2:" "a bad line after a comment that is not UTF-8 is named"

run_ctl apply -f "$TMP/does-not-exist.txt"
assert_ne 0 "$RC" "apply of a missing file fails ($RC)" "$OUT"
assert_unchanged "apply of a missing file"

# ---- stdin ---------------------------------------------------------------------------------------
OUT=$(printf 'isolate %s:8009\nisolate %s:8009/udp\n' $S4 $S4 | ctl apply -f - 2>&1)
assert_eq 0 "$?" "apply -f - reads stdin" "$OUT"
assert_refused_fast $S4 8009
assert_udp_rejected $S4 8009
OUT=$(printf 'isolate %s:8010\nisolate 10.77.0.300\n' $S4 | ctl apply -f - 2>&1)
assert_eq 2 "$?" "apply -f - with a bad line 2 exits 2" "$OUT"
assert_contains "$OUT" ":2" "the message names line 2"
assert_ok $S4 8010 A

# ---- many lines: one transaction, split below the netlink limit ------------------------------------
assert_ctl 0 rollback --all
n=3000
for i in $(seq 0 $((n - 1))); do
	echo "isolate 10.77.$((10 + i / 250)).$((i % 250 + 1)):$((2000 + i % 7))/tcp --ttl 1h"
done >"$TMP/many.txt"
t0=$(now_ms)
run_ctl apply -f "$TMP/many.txt"
assert_eq 0 "$RC" "apply of $n lines exits 0 ($(($(now_ms) - t0)) ms)" "$(head -c 500 <<<"$OUT")"
assert_eq "$n" "$(list_json | jq length)" "$n actions listed"
assert_eq "$n" "$(kernel_count)" "$n elements in the kernel"
echo "isolate 10.77.99.1:1 --ttl" >>"$TMP/many.txt"
run_ctl apply -f "$TMP/many.txt"
assert_eq 2 "$RC" "the same $n lines plus a bad last line exit 2" "$(head -c 500 <<<"$OUT")"
assert_contains "$OUT" "many.txt:$((n + 1))" "the message names line $((n + 1))"
assert_eq "$n" "$(list_json | jq length)" "still exactly $n actions"
# a terminal gets the first few and a count; --json every one
out=$(ctl rollback --all --dry-run 2>&1)
assert_eq 21 "$(grep -c '^dry run: would roll back [0-9]' <<<"$out")" \
	"rollback --all --dry-run names 20 actions, then the total" "$(tail -n 3 <<<"$out")"
assert_contains "$out" "  ... and $((2 * n - 40)) more" "and 40 of its $((2 * n)) changes, then how many more"
assert_contains "$out" "... and $((n - 20)) more" "and says how many more"
assert_contains "$out" "would roll back $n actions" "and the total"
assert_eq "$n" "$(ctl --json rollback --all --dry-run | jq '.removed | length')" \
	"--json rollback --all --dry-run lists all $n"
run_ctl rollback --all
assert_eq 0 "$RC" "rollback --all of $n exits 0" "$OUT"
assert_contains "$OUT" "rolled back $n actions" "rollback --all says how many it rolled back"
assert_eq 0 "$(kernel_count)" "rollback --all emptied the kernel"

finish
