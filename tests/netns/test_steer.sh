#!/usr/bin/env bash
# test_steer.sh - `isolctl steer A:P --to B[:P]`: new connections to A are
# answered by B (real servers that say who they are); restore gives them back;
# --kill-flows cuts an open connection at once, without it it keeps working;
# a backup that does not answer is refused and nothing changes.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

steer_id() { # ARGS...: `isolctl --json steer ARGS`; prints the new id
	local o
	o=$(ctl --json steer "$@" 2>&1) || { echo "steer $* failed: $o" >&2; return 1; }
	printf '%s' "$o" | jq -r '.action.id'
}

# ---- connection tracking only while a steer is -----------------------------------------
# NAT needs conntrack, and conntrack costs every new connection of the host and
# can fill up: the steering chains are there only while a steer is.
chains() { in_client nft list table inet isol 2>/dev/null | awk '$1 == "chain" { print $2 }' | sort | tr '\n' ' '; }
tracked() { # ADDR PORT: conntrack entries of this host's connections to ADDR:PORT
	in_client conntrack -L -p tcp -d "$1" --dport "$2" 2>/dev/null | grep -c .
}
iso=$(isolate_id $S4:8013)
assert_not_contains "$(chains)" "nat_out" "no steer: no nat chain ($(chains))"
assert_not_contains "$(chains)" "steer_" "no steer: no steerback chains"
assert_ok $S4 8011 A
assert_eq 0 "$(tracked $S4 8011)" "no steer: this host's connections are not tracked"
id=$(steer_id $S4:8012 --to $H4)
have=$(chains)
for c in nat_out nat_pre steer_out steer_in steer_fwd; do
	assert_contains " $have" " $c " "a steer brings the steering chain $c"
done
assert_ok $S4 8011 A
assert_ne 0 "$(tracked $S4 8011)" "with a steer, connections are tracked"
assert_ok $S4 8012 B
assert_ctl 0 rollback "$id"
assert_not_contains "$(chains)" "nat_" "the last steer gone: no nat chain ($(chains))"
assert_ok $S4 8010 A
assert_eq 0 "$(tracked $S4 8010)" "the last steer gone: connections are not tracked again"
assert_ctl 0 rollback "$iso"

# ---- IPv4: A:8001 answered by B ------------------------------------------------------
assert_ok $S4 8001 A
id=$(steer_id $S4:8001 --to $H4 --ttl 10m --reason "A is sick")
assert_ne "" "$id" "steer returns an id"
assert_ok $S4 8001 B
assert_ok $S4 8002 A # other ports of A untouched
assert_ok $H4 8001 B
kind=$(list_json | jq -r --argjson id "${id:-0}" '.[] | select(.id == $id) | .kind + " " + .to')
assert_eq "steer $H4" "$kind" "list shows the steer and where to"
assert_contains "$(nft_table)" "isol:$id" "the kernel holds the steer element"
hits=$(list_json | jq -r --argjson id "${id:-0}" '.[] | select(.id == $id) | .packets')
assert_ne "0" "$hits" "hits count steered connections ($hits)"
assert_ctl 0 restore "$id"
assert_ok $S4 8001 A

# ---- to another port; udp; IPv6 ---------------------------------------------------------
id=$(steer_id $S4:8003 --to $H4:8004)
assert_ok $S4 8003 B
assert_ctl 0 rollback "$id"
id=$(steer_id $S4:8005/udp --to $H4)
assert_udp_ok $S4 8005 B
assert_ctl 0 rollback "$id"
assert_udp_ok $S4 8005 A
id=$(steer_id "[$S6]:8006" --to "$H6")
assert_ok $S6 8006 B
assert_ctl 0 restore "[$S6]:8006"
assert_ok $S6 8006 A

# ---- established connections: without and with --kill-flows ------------------------
hold_start keep $S4 8007
id=$(steer_id $S4:8007 --to $H4)
assert_ok $S4 8007 B
hold_poke keep
assert_contains "$PROBE" "ok A" "without --kill-flows an open connection stays with A"
assert_ctl 0 rollback "$id"

hold_start cut $S4 8008
id=$(steer_id $S4:8008 --to $H4 --kill-flows)
hold_poke cut
if [[ "$PROBE" == ok\ A* ]]; then
	fail "with --kill-flows the open connection should be cut, got: $PROBE"
else
	pass "with --kill-flows the open connection is cut ($PROBE)"
fi
assert_ok $S4 8008 B
assert_ctl 0 rollback "$id"

# a server that speaks first after the kill (AMQP heartbeats): conntrack would
# pick its packet up as a new flow in reverse and keep the connection on A;
# the steerback rule drops it, so the client's next packet goes to B and is reset
bg_server pusher "$TOOLS/tcpserve" --name P --push 600 --ready-file "$TMP/pusher.ready" "$S4:8020"
wait_until 3000 test -e "$TMP/pusher.ready" || fail "the pushing server did not start"
hold_start push $S4 8020
id=$(steer_id $S4:8020 --to $H4:8001 --kill-flows)
sleep 1 # the server has pushed by now
hold_poke push
if [[ "$PROBE" == ok* ]]; then
	fail "a connection whose server pushed first should be cut too, got: $PROBE"
else
	pass "a server that pushes first does not keep the connection ($PROBE)"
fi
assert_ctl 0 rollback "$id"

# ---- refusals: nothing changes --------------------------------------------------------
state_snapshot
run_ctl steer $S4:8009 --to $H4:8999
assert_eq 1 "$RC" "steer to a backup that does not answer exits 1" "$OUT"
assert_contains "$OUT" "$H4" "the message names the backup"
assert_contains "$OUT" "refused" "the message says what happened"
assert_unchanged "steer to a dead backup"
assert_ok $S4 8009 A
run_ctl steer $S4:8009 --to $H4:8999 --no-check
assert_eq 0 "$RC" "--no-check steers anyway" "$OUT"
assert_ctl 0 rollback --last
state_snapshot
for bad in "$S4:8009 --to 10.77.0.0/24" "$S4:8009" "$S4:8009 --to $H6" "10.77.0.0/24:80 --to $H4" \
	"$S4:8009 --to $H4 --mode drop"; do
	# shellcheck disable=SC2086
	run_ctl steer $bad
	assert_eq 2 "$RC" "steer $bad is a usage error" "$OUT"
done
assert_unchanged "bad steer words"
id=$(steer_id $S4:8010 --to $H4)
run_ctl steer $S4:8010 --to $H4
assert_eq 1 "$RC" "the same target steered twice is refused" "$OUT"
assert_ctl 0 rollback "$id"

# ---- the backup check sees the real backup, not our own rules ---------------------
# H4:8012 is itself isolated here; the check carries the probe mark and gets
# through, so the refusal comes only from a backup that really does not answer
iso=$(isolate_id $H4:8012)
id=$(steer_id $S4:8012 --to $H4)
assert_ne "" "$id" "the check bypasses isol's own isolation of the backup"
assert_ctl 0 rollback "$id"
assert_ctl 0 rollback "$iso"

# ---- in an apply file: the backup checked (the answer waits for it), all or nothing -------
printf 'steer %s:8005 --to %s --reason "from a file"\nisolate %s:8006\n' $S4 $H4 $S4 >"$TMP/steer.txt"
run_ctl apply -f "$TMP/steer.txt"
assert_eq 0 "$RC" "apply of a steer and an isolation exits 0" "$OUT"
assert_ok $S4 8005 B
assert_refused_fast $S4 8006
assert_ctl 0 rollback --all
state_snapshot
printf 'isolate %s:8006\nsteer %s:8005 --to %s:8999\n' $S4 $S4 $H4 >"$TMP/steer.txt"
run_ctl apply -f "$TMP/steer.txt"
assert_eq 1 "$RC" "apply with a steer to a backup that does not answer exits 1" "$OUT"
assert_contains "$OUT" "steer.txt:2:" "the message names the steer's line"
assert_unchanged "apply with a dead backup"
assert_ok $S4 8006 A

# ---- survives kill -9; TTL -----------------------------------------------------------
id=$(steer_id $S4:8013 --to $H4 --ttl 2s)
kill_agent
assert_ok $S4 8013 B # the kernel keeps steering while the agent is dead
start_agent || finish
assert_ok $S4 8013 B
sleep 2.2
assert_ok $S4 8013 A
wait_until 1500 not_listed "$id" && pass "expired steer gone from the list" ||
	fail "expired steer still listed"
finish
