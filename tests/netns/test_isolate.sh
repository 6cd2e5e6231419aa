#!/usr/bin/env bash
# test_isolate.sh - isolate / restore / rollback against real TCP and UDP
# clients and servers: fail fast, established flows reset, nothing else hit.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

# isolate_fast ADDR PORT ISOLCTL-ARGS...: `isolctl isolate ARGS` succeeds and a
# new connection to ADDR:PORT is refused within 50 ms of isolctl returning.
# Leaves the new action's id in $ID.
isolate_fast() {
	local a=$1 p=$2 out rc t_ret t_seen
	shift 2
	out=$(ctl --json isolate "$@" 2>&1)
	rc=$?
	t_ret=$(now_us)
	probe_tcp "$a" "$p"
	t_seen=$(now_us)
	ID=$(printf '%s' "$out" | jq -r '(.action.id // .id) // empty' 2>/dev/null)
	if [ "$rc" != 0 ] || [ -z "$ID" ]; then
		fail "isolctl isolate $* -> exit $rc" "$out"
		return
	fi
	local what=${PROBE%% *} ms=${PROBE##* } total=$(((t_seen - t_ret) / 1000))
	if [ "$what" = refused ] && lt "$ms" 50 && [ "$total" -lt 50 ]; then
		pass "isolate $* (#$ID): $(ep "$a" "$p") refused in $ms ms, $total ms after isolctl returned"
	else
		fail "isolate $* (#$ID): $(ep "$a" "$p") should be refused within 50 ms of isolctl" \
			"got: $PROBE ($total ms after isolctl returned)"
	fi
}

# ---- baseline ---------------------------------------------------------------
assert_ok $S4 8001 A
assert_ok $S4 8002 A
assert_ok $H4 8001 B
assert_ok $S6 8001 A
assert_udp_ok $S4 8001 A
assert_eq "" "$(list_ids)" "no actions at start"

# ---- IPv4 ADDR:PORT ----------------------------------------------------------
hold_start held4 $S4 8001
isolate_fast $S4 8001 $S4:8001 --reason "test isolate"
ID4=$ID
hold_poke held4
assert_eq reset "${PROBE%% *}" "established connection is reset on its next packet ($PROBE)"
assert_refused_fast $S4 8001
assert_ok $S4 8002 A
assert_ok $H4 8001 B
assert_ok $S6 8001 A
assert_udp_ok $S4 8001 A
kernel_has_id "$ID4"
check $? "kernel table holds element isol:$ID4" "$(nft_maps)"

run_ctl list
assert_eq 0 "$RC" "isolctl list exits 0" "$OUT"
assert_contains "$OUT" "10.77.0.2:8001" "isolctl list shows 10.77.0.2:8001"
assert_contains "$OUT" "test isolate" "isolctl list shows the reason"
pk=$(list_json | jq -r --argjson id "${ID4:-0}" '.[] | select(.id == $id) | .packets // 0')
if [ -n "$pk" ] && [ "$pk" -ge 2 ] 2>/dev/null; then
	pass "the action counted the packets it stopped (packets=$pk)"
else
	fail "the action should count >= 2 stopped packets, packets='$pk'" "$(ctl --json list)"
fi
run_ctl show "$ID4"
assert_eq 0 "$RC" "isolctl show $ID4 exits 0" "$OUT"
assert_contains "$OUT" "10.77.0.2:8001" "isolctl show names the target"
assert_ctl 1 show 999999

assert_ctl 0 rollback "$ID4"
assert_ok $S4 8001 A
kernel_lacks_id "$ID4"
check $? "element isol:$ID4 gone from the kernel after rollback" "$(nft_maps)"
assert_eq "" "$(list_ids)" "no actions left after rollback"
assert_ctl 1 rollback "$ID4"

# ---- IPv6 ---------------------------------------------------------------------
hold_start held6 $S6 8001
isolate_fast $S6 8001 "[$S6]:8001"
ID6=$ID
hold_poke held6
assert_eq reset "${PROBE%% *}" "established IPv6 connection is reset on its next packet ($PROBE)"
assert_ok $S4 8001 A
assert_ok $H6 8001 B
assert_ok $S6 8002 A
assert_udp_ok $S6 8001 A
assert_ctl 0 rollback --last
assert_ok $S6 8001 A
assert_eq "" "$(list_ids)" "rollback --last removed the IPv6 action"

# ---- --direction in: callers of a local service ------------------------------
FROM=server assert_ok $C4 9001 L
FROM=server hold_start heldin $C4 9001
isolate_fast_in() {
	local out rc t_ret
	out=$(ctl isolate "$@" 2>&1)
	rc=$?
	t_ret=$(now_us)
	FROM=server probe_tcp "${1%:*}" "${1##*:}"
	local total=$((($(now_us) - t_ret) / 1000)) ms=${PROBE##* }
	if [ "$rc" = 0 ] && [ "${PROBE%% *}" = refused ] && lt "$ms" 50 && [ "$total" -lt 50 ]; then
		pass "isolate $*: remote caller refused in $ms ms"
	else
		fail "isolate $*: remote caller should be refused fast (exit $rc)" "$out" "got: $PROBE"
	fi
}
isolate_fast_in $C4:9001 --direction in
FROM=server hold_poke heldin
assert_eq reset "${PROBE%% *}" "established inbound connection is reset ($PROBE)"
FROM=server assert_ok $C4 9002 L
assert_ok $S4 8001 A
ctl isolate "[$C6]:9001" --direction in >/dev/null 2>&1
FROM=server assert_refused_fast $C6 9001
FROM=server assert_ok $C6 9002 L
assert_ctl 0 rollback --all
FROM=server assert_ok $C4 9001 L
FROM=server assert_ok $C6 9001 L

# ---- --direction all ------------------------------------------------------------
isolate_fast $S4 8006 $S4:8006 --direction all
assert_ok $S4 8007 A
assert_ctl 0 rollback "$ID"

# ---- --mode drop: callers hang ---------------------------------------------------
assert_ctl 0 isolate $S4:8003 --mode drop
assert_timeout $S4 8003 300
assert_ok $S4 8002 A
assert_ctl 0 rollback --last
assert_ok $S4 8003 A

# ---- UDP -------------------------------------------------------------------------
assert_ctl 0 isolate $S4:8005/udp
assert_udp_rejected $S4 8005
assert_ok $S4 8005 A
assert_udp_ok $S4 8004 A
assert_ctl 0 rollback --last
assert_udp_ok $S4 8005 A

# ---- port ranges -----------------------------------------------------------------
isolate_fast $S4 8010 $S4:8010-8012
assert_refused_fast $S4 8011
assert_refused_fast $S4 8012
assert_ok $S4 8009 A
assert_ok $S4 8013 A
assert_ok $H4 8011 B
isolate_fast $S6 8010 "[$S6]:8010-8011"
assert_refused_fast $S6 8011
assert_ok $S6 8012 A
assert_ctl 0 rollback --all
assert_ok $S4 8011 A
assert_ok $S6 8011 A

# ---- prefixes ------------------------------------------------------------------------
isolate_fast $S4 8004 10.77.0.2/31:8004
assert_refused_fast $H4 8004
assert_ok $S4 8005 A
assert_ok $H4 8005 B
assert_ok $S6 8004 A
isolate_fast $H6 8001 fd77::2/127
assert_refused_fast $S6 8013
assert_udp_rejected $H6 8002
assert_ok $S4 8001 A
assert_ctl 0 isolate 10.77.0.2/31
assert_refused_fast $S4 8001
assert_refused_fast $H4 8013
assert_udp_rejected $H4 8001
# operators inspect the table with nft: it must be able to list it
assert_ctl 0 isolate $S4:8003 --mode drop --ttl 1h
out=$(nft_table)
assert_eq 0 "$?" "nft list table inet isol can decode the agent's table" "$(head -c 600 <<<"$out")"
out=$(in_client nft list ruleset 2>&1)
assert_eq 0 "$?" "nft list ruleset works with the agent's table present" "$(head -c 600 <<<"$out")"
assert_ctl 0 rollback --all
assert_ok $H4 8004 B
assert_ok $S6 8013 A
assert_udp_ok $H4 8001 B

# ---- counters: an isolation's counter is made by its first packet ----------------------
# (in @hits, keyed by the isolation's mark: its id, with the high bit for
# mode drop); every action counts its own packets, whatever its map
hits_marks() { # the keys of @hits, one per line, as nft prints them
	in_client nft list set inet isol hits 2>&1 | tr -d '\n' | grep -o 'elements = {[^}]*}' |
		grep -o '0x[0-9a-f]*'
}
packets_of() { list_json | jq -r --argjson id "${1:-0}" '.[] | select(.id == $id) | .packets'; }
isolate_id() { ctl --json isolate "$@" 2>&1 | jq -r '(.action.id // .id) // empty' 2>/dev/null; }
idr=$(isolate_id $S4:8014)
idd=$(isolate_id 10.77.0.2/31:8015 --mode drop)
idn=$(isolate_id $S4:8016)
assert_eq 3 "$(wc -w <<<"$idr $idd $idn")" "three isolations ($idr $idd $idn)"
assert_eq "" "$(hits_marks)" "no counter before a packet"
for i in 1 2 3; do assert_refused_fast $S4 8014; done
assert_timeout $S4 8015 300
assert_eq 3 "$(packets_of "$idr")" "the reject isolation counts its 3 refused SYNs"
pd=$(packets_of "$idd")
if [ -n "$pd" ] && [ "$pd" -ge 1 ] 2>/dev/null; then
	pass "the drop isolation (a prefix, the interval map) counts its own SYNs ($pd)"
else
	fail "the drop isolation should count >= 1 dropped SYN, packets='$pd'" "$(ctl --json list)"
fi
assert_eq 0 "$(packets_of "$idn")" "an isolation no packet met counts 0"
marks=$(hits_marks | sort | tr '\n' ' ')
want=$(printf '0x%08x 0x%08x ' "$idr" $((0x80000000 | idd)) | tr ' ' '\n' | sort | tr '\n' ' ')
assert_eq "$want" "$marks" "@hits holds a counter for each isolation hit, none for the other"
assert_ctl 0 rollback --all
assert_eq "" "$(hits_marks)" "a rollback takes the counters with it"

# ---- restore TARGET --------------------------------------------------------------------
assert_ctl 0 isolate $S4:8008
assert_ctl 0 isolate $H4:8008
assert_refused_fast $S4 8008
assert_ctl 0 restore $S4:8008
assert_ok $S4 8008 A
assert_refused_fast $H4 8008
ids=$(list_ids)
assert_eq 1 "$(wc -w <<<"$ids")" "restore TARGET removed only that target's action"
assert_ctl 0 restore "$ids"
assert_ok $H4 8008 B
assert_eq "" "$(list_ids)" "no actions left"
assert_eq 0 "$(kernel_count)" "no elements left in the kernel" "$(nft_maps)"

finish
