#!/usr/bin/env bash
# test_durability.sh - kill -9 at the worst moment: the table keeps blocking
# while the agent is dead, a restart brings back exactly what was
# acknowledged (same ids), rollbacks stay rolled back, ids are never reused.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

# the parts of the list that must survive a restart
snapshot() {
	list_json | jq -c 'map({id, kind, target, direction, mode, created_ms, expires_ms, ttl_ms, reason, origin, actor}) | sort_by(.id)'
}

# ---- kill -9 right after acknowledged isolations ----------------------------------------
ids=()
for t in $S4:8001 "[$S6]:8002" $S4:8010-8011 10.77.0.2/31:8004; do
	id=$(isolate_id "$t" --reason "durable $t")
	check $? "isolate $t -> #$id"
	ids+=("${id:-0}")
done
id=$(isolate_id $H4:8003 --ttl 10m --mode drop)
check $? "isolate $H4:8003 --ttl 10m --mode drop -> #$id"
ids+=("${id:-0}")
before=$(snapshot)
kill_agent

assert_refused_fast $S4 8001
assert_refused_fast $S6 8002
assert_refused_fast $S4 8011
assert_refused_fast $H4 8004
assert_timeout $H4 8003 300
assert_ok $S4 8002 A
pass_all=0
for id in "${ids[@]}"; do kernel_has_id "$id" || pass_all=1; done
check $pass_all "every acknowledged action is in the kernel while the agent is dead" "$(nft_maps)"

start_agent
after=$(snapshot)
assert_eq "$before" "$after" "after kill -9 and restart, isolctl --json list is the same (ids, targets, expiry)"
assert_refused_fast $S4 8001
assert_refused_fast $S6 8002
pass_all=0
for id in "${ids[@]}"; do kernel_has_id "$id" || pass_all=1; done
check $pass_all "every action is in the kernel after the restart" "$(nft_maps)"
assert_eq "${#ids[@]}" "$(kernel_count)" "the kernel holds exactly the listed actions" "$(nft_elements)"

# ---- a rolled-back action does not come back --------------------------------------------
assert_ctl 0 rollback "${ids[0]}"
assert_ok $S4 8001 A
kill_agent
assert_ok $S4 8001 A
start_agent
not_listed "${ids[0]}"
check $? "rolled-back #${ids[0]} is not listed after kill -9 and restart" "$(ctl list 2>&1)"
kernel_lacks_id "${ids[0]}"
check $? "rolled-back #${ids[0]} is not back in the kernel" "$(nft_maps)"
assert_ok $S4 8001 A
assert_refused_fast $S6 8002

# restore TARGET and rollback --all are tombstoned too
assert_ctl 0 restore "[$S6]:8002"
kill_agent
start_agent
not_listed "${ids[1]}"
check $? "restored #${ids[1]} stays removed after kill -9 and restart" "$(ctl list 2>&1)"
assert_ok $S6 8002 A

# ---- ids are never reused -------------------------------------------------------------------
top=$(printf '%s\n' "${ids[@]}" | sort -n | tail -n1)
last=$(isolate_id $S4:8005)
check $? "isolate $S4:8005 -> #$last"
last=${last:-0}
assert_ctl 0 rollback --last
kill_agent
start_agent
next=$(isolate_id $S4:8006)
check $? "isolate $S4:8006 -> #$next"
if [ "${next:-0}" -gt "$last" ] && [ "$last" -gt "$top" ]; then
	pass "ids are never reused: #$next after rolled-back #$last (and #$top before)"
else
	fail "ids must grow and never be reused: before=$top rolled-back=$last next=$next"
fi

# ---- rollback --all, then a restart: nothing comes back --------------------------------------
assert_ctl 0 rollback --all
kill_agent
start_agent
assert_eq "" "$(list_ids)" "after rollback --all and a restart, nothing is listed"
assert_eq 0 "$(kernel_count)" "after rollback --all and a restart, the kernel holds nothing" "$(nft_elements)"
assert_ok $S4 8010 A
assert_ok $H4 8003 B

# ---- a restart under load of many actions keeps them all -------------------------------------
# (past 8192 lines the agent parses on two threads and journals on a second
# thread while the kernel takes the batch)
n=9000
awk -v n=$n 'BEGIN { for (i = 1; i <= n; i++)
	printf "isolate 10.%d.%d.%d:%d\n", 100 + int(i / 62500), int(i / 250) % 250, i % 250 + 1, 1000 + i % 50000 }' \
	>"$TMP/many.txt"
assert_ctl 0 apply -f "$TMP/many.txt"
# alike but for their targets: one full record, then the short "add+" ones
short=$(tr -d '\0' <"$STATE/journal" | grep -c '^{"t":"add+","target":')
assert_eq "$((n - 1))" "$short" "$n alike actions: journaled as 1 full record and $((n - 1)) short ones"
before=$(snapshot)
kill_agent
start_agent
assert_eq "$before" "$(snapshot)" "$n actions: the same list after kill -9 and restart"
assert_eq "$n" "$(kernel_count)" "$n actions: the same elements in the kernel after restart"

# ---- kill -9 in the middle of a large apply: all of it or none ---------------------------------
# (its journal is written ahead of its commit, on a second thread)
awk -v n=$n 'BEGIN { for (i = 1; i <= n; i++)
	printf "isolate 10.%d.%d.%d:%d\n", 110 + int(i / 62500), int(i / 250) % 250, i % 250 + 1, 1000 + i % 50000 }' \
	>"$TMP/more.txt"
for delay in 0.02 0.05 0.09; do
	ctl apply -f "$TMP/more.txt" >/dev/null 2>&1 &
	sleep "$delay"
	kill_agent
	wait $! 2>/dev/null
	start_agent
	got=$(list_json | jq length)
	if [ "$got" = "$n" ] || [ "$got" = "$((2 * n))" ]; then
		pass "kill -9 $delay s into an apply of $n: $got actions after restart, all or none"
	else
		fail "kill -9 $delay s into an apply of $n: expected $n or $((2 * n)) actions, got '$got'"
	fi
	assert_eq "$got" "$(kernel_count)" "and the kernel holds as many elements ($got)"
	if [ "$got" != "$n" ]; then # back to the first file's actions alone
		ctl rollback --all >/dev/null 2>&1
		ctl apply -f "$TMP/many.txt" >/dev/null 2>&1
	fi
done

# ---- isolagent --flush removes the table when no agent runs ------------------------------------
stop_agent
out=$(in_client "$AGENT_BIN" --flush --socket "$SOCK" --state-dir "$STATE" 2>&1)
assert_eq 0 "$?" "isolagent --flush exits 0" "$out"
out=$(in_client nft list table inet isol 2>&1)
[[ "$out" == *"No such file or directory"* ]]
check $? "isolagent --flush removed table inet isol" "$out"

finish
