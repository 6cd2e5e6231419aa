#!/usr/bin/env bash
# test_protected.sh - loopback, the default gateways, the SSH peer and
# --protect extras are refused (exit 1) unless --force, in every path.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent --protect $H4 --protect $H6/128 || finish

state_snapshot

refused_protected() { # ISOLCTL-ARGS...
	run_ctl "$@"
	if [ "$RC" = 1 ] && [[ "${OUT,,}" == *protect* ]]; then
		pass "isolctl $* -> exit 1 (protected)"
	else
		fail "isolctl $* -> exit $RC, expected 1 with a message about a protected target" "$OUT"
	fi
}

refused_protected isolate $GW4
refused_protected isolate $GW4:80
refused_protected isolate "[$GW6]:443"
refused_protected isolate $GW6
refused_protected isolate 10.77.0.0/24
refused_protected isolate 10.77.0.0/24:8001
refused_protected isolate 0.0.0.0/0
refused_protected isolate fd77::/64
refused_protected isolate ::/0
refused_protected isolate 127.0.0.1
refused_protected isolate 127.0.0.1:8001
refused_protected isolate 127.0.0.0/8
refused_protected isolate ::1
refused_protected isolate "[::1]:8001"
refused_protected isolate $H4:8001
refused_protected isolate "[$H6]:8001"
refused_protected isolate $H4 --direction in
refused_protected isolate $GW4 --dry-run
refused_protected isolate $GW4:80 --ttl 1m --mode drop

# the SSH peer of the isolctl session ($SSH_CONNECTION: client-addr client-port server-addr server-port)
out=$(SSH_CONNECTION="10.77.0.9 50022 $C4 22" "$CTL_BIN" --socket "$SOCK" isolate 10.77.0.9 2>&1)
rc=$?
if [ "$rc" = 1 ] && [[ "${out,,}" == *protect* ]]; then
	pass "the SSH peer 10.77.0.9 is refused (exit 1)"
else
	fail "the SSH peer should be refused with exit 1, got $rc" "$out"
fi
out=$(SSH_CONNECTION="fd77::9 50022 $C6 22" "$CTL_BIN" --socket "$SOCK" isolate "[fd77::9]:22" 2>&1)
assert_eq 1 "$?" "an IPv6 SSH peer is refused" "$out"

# apply: one protected line refuses the whole file
printf 'isolate %s:8001\nisolate %s:8001\n' $S4 $GW4 >"$TMP/prot.txt"
run_ctl apply -f "$TMP/prot.txt"
assert_eq 1 "$RC" "apply with a protected line exits 1" "$OUT"
assert_contains "$OUT" "prot.txt:2" "the message names the protected line ($TMP/prot.txt:2)"

assert_unchanged "after the refused protected targets"
assert_ok $S4 8001 A

# --force overrides
assert_ctl 0 isolate $GW4:8001 --force
assert_ctl 0 isolate $H4:8001 --force
assert_refused_fast $H4 8001
assert_ok $H4 8002 B
assert_ctl 0 isolate 127.0.0.1:8001 --force --ttl 1m
assert_ctl 0 rollback --all
assert_ok $H4 8001 B

# a restart re-checks the protected list: an action taken while $S4 was not
# protected does not come back once it is
assert_ctl 0 isolate $S4:8002
assert_ctl 0 isolate $H4:8003 --force
stop_agent
start_agent --protect $H4 --protect $H6/128 --protect $S4
run_ctl list
assert_not_contains "$OUT" "10.77.0.2:8002" "after a restart with $S4 protected, its unforced action is gone"
assert_contains "$OUT" "10.77.0.3:8003" "a forced action on a protected target survives the restart"
assert_ok $S4 8002 A
assert_refused_fast $H4 8003

finish
