#!/usr/bin/env bash
# test_flush.sh - someone else flushes or deletes our table: isolation is
# still in force within a second. The agent never touches other tables.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up

# A table of someone else's, there before the agent starts.
foreign_up() {
	in_client nft -f - <<-'EOF'
	table inet foreign {
		set watched {
			type ipv4_addr
			elements = { 10.77.0.99 }
		}
		chain c {
			type filter hook output priority 10; policy accept;
			ip daddr @watched counter accept
		}
	}
	EOF
}
foreign_up
foreign_before=$(in_client nft list table inet foreign)
[ -n "$foreign_before" ] || fail "could not create table inet foreign"
start_agent || finish

assert_ctl 0 isolate $S4:8001
assert_ctl 0 isolate "[$S6]:8001"
assert_refused_fast $S4 8001

still_refused() {
	probe_tcp "$1" "$2"
	[ "${PROBE%% *}" = refused ]
}

# foreign_change DESCRIPTION NFT-ARGS...
foreign_change() {
	local what=$1 t0 out rc
	shift
	out=$(in_client nft "$@" 2>&1)
	rc=$?
	t0=$(now_ms)
	log "nft $* -> exit $rc ${out:+($out)}"
	if wait_until 1000 still_refused $S4 8001 && wait_until 1000 still_refused $S6 8001; then
		pass "after $what, isolation in force within $(($(now_ms) - t0)) ms"
	else
		fail "after $what, isolation should be in force within 1 s" "last probe: $PROBE" \
			"$(nft_maps)"
	fi
}

foreign_change "nft flush ruleset" flush ruleset
foreign_change "nft delete table inet isol" delete table inet isol
foreign_change "nft flush table inet isol" flush table inet isol
foreign_change "nft delete chain inet isol out" delete chain inet isol out
assert_ok $S4 8002 A
assert_ok $H4 8001 B

# the agent still serves, and rolls back cleanly
run_ctl list
assert_eq 0 "$RC" "isolctl list still answers" "$OUT"
assert_eq 2 "$(list_json | jq length)" "both actions still listed"
assert_ctl 0 rollback --all
assert_ok $S4 8001 A
assert_ok $S6 8001 A

# the foreign table was there before the first flush; flush ruleset removed it.
# Put it back and check the agent leaves it alone through its own work.
in_client nft list table inet foreign >/dev/null 2>&1 || foreign_up
foreign_before=$(in_client nft list table inet foreign)
[ -n "$foreign_before" ] || fail "could not create table inet foreign again"
assert_ctl 0 isolate $S4:8003
assert_ctl 0 rollback --last
stop_agent
start_agent
assert_eq "$foreign_before" "$(in_client nft list table inet foreign)" \
	"the agent never changed table inet foreign"

# ---- without the owner flag (old kernels): the agent sees the change and rebuilds --------------
stop_agent
start_agent --no-owner
assert_ctl 0 isolate $S4:8001
assert_ctl 0 isolate "[$S6]:8001"
foreign_change "nft flush ruleset (--no-owner)" flush ruleset
foreign_change "nft delete table inet isol (--no-owner)" delete table inet isol
foreign_change "nft flush table inet isol (--no-owner)" flush table inet isol
foreign_change "nft delete chain inet isol out (--no-owner)" delete chain inet isol out
el=$(nft_elements | grep -c 'isol:')
assert_eq 2 "$el" "--no-owner: the rebuilt table holds both elements" "$(nft_maps)"
assert_ok $S4 8002 A
# a counter left in @hits by an isolation gone (a packet during its removal's
# commit): the next read of the counters takes it away, and no other
assert_refused_fast $S4 8001
hits_keys() { in_client nft list set inet isol hits | tr -d '\n' | grep -o '0x[0-9a-f]*' | sort | tr '\n' ' '; }
live=$(hits_keys)
in_client nft add element inet isol hits '{ 0x00077777 }'
assert_contains "$(hits_keys)" "0x00077777" "a stale counter is there (live ones: $live)"
run_ctl list
assert_eq "$live" "$(hits_keys)" "isolctl list forgot the stale counter and kept the live ones"
assert_ctl 0 rollback --all
assert_ok $S4 8001 A
stop_agent
start_agent

# ---- a flush while the agent is dead: the restart rebuilds the table -----------------------------
assert_ctl 0 isolate $S4:8004
kill_agent
in_client nft flush ruleset
start_agent
assert_refused_fast $S4 8004
assert_ok $S4 8005 A

finish
