#!/usr/bin/env bash
# test_ttl.sh - an action's TTL: the kernel expires the element on time (also
# while the agent is dead) and the agent's list follows within about a second.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

gone_from_kernel() { kernel_lacks_id "$1"; }

# ---- plain expiry ---------------------------------------------------------------------
t0=$(now_ms)
id=$(isolate_id $S4:8001 --ttl 2s --reason ttl-test)
check $? "isolate --ttl 2s -> id $id"
id=${id:-0}
kernel_has_id "$id"
check $? "element isol:$id is in the kernel" "$(nft_maps)"
nft_elements | grep "\"isol:$id\"" | grep -q expires
check $? "the kernel element carries the TTL (expires)" "$(nft_elements)"
exp_ms=$(list_json | jq -r --argjson id "$id" '.[] | select(.id == $id) | .expires_ms')
now_wall=$(($(date +%s%N) / 1000000))
if [ -n "$exp_ms" ] && [ "$exp_ms" != null ] && [ $((exp_ms - now_wall)) -gt 1000 ] &&
	[ $((exp_ms - now_wall)) -le 2100 ]; then
	pass "list shows expires_ms about 2 s ahead ($((exp_ms - now_wall)) ms)"
else
	fail "list should show expires_ms about 2 s ahead, got '$exp_ms' (now $now_wall)" "$(ctl --json list)"
fi
run_ctl list
assert_contains "$OUT" "ttl-test" "text list shows the action"
assert_refused_fast $S4 8001

# still there at 1.5 s
sleep_until() { local d=$(($1 - $(now_ms))); [ "$d" -gt 0 ] && sleep "$(awk -v d=$d 'BEGIN{print d/1000}')"; }
sleep_until $((t0 + 1500))
kernel_has_id "$id"
check $? "element still in the kernel 1.5 s into a 2 s TTL"

if wait_until $((t0 + 3000 - $(now_ms))) gone_from_kernel "$id"; then
	pass "element gone from the kernel $(($(now_ms) - t0)) ms after isolate (TTL 2 s)"
else
	fail "element should be gone from the kernel by 3 s" "$(nft_maps)"
fi
assert_ok $S4 8001 A
if wait_until $((t0 + 3200 - $(now_ms))) not_listed "$id"; then
	pass "action gone from isolctl list $(($(now_ms) - t0)) ms after isolate (TTL 2 s)"
else
	fail "action should be gone from isolctl list within ~1 s of expiry" "$(ctl list 2>&1)"
fi

# ---- expiry while the agent is dead ------------------------------------------------------
t0=$(now_ms)
id=$(isolate_id $S4:8002 --ttl 2s)
check $? "isolate --ttl 2s -> id $id"
id=${id:-0}
kill_agent
assert_refused_fast $S4 8002
if wait_until $((t0 + 3000 - $(now_ms))) gone_from_kernel "$id"; then
	pass "with the agent dead, the kernel expired isol:$id $(($(now_ms) - t0)) ms after isolate"
else
	fail "with the agent dead, the kernel should expire the element by 3 s" "$(nft_maps)"
fi
assert_ok $S4 8002 A
start_agent
not_listed "$id"
check $? "after restart, the expired action is not listed" "$(ctl list 2>&1)"
gone_from_kernel "$id"
check $? "after restart, the expired action is not back in the kernel" "$(nft_maps)"
assert_ok $S4 8002 A

# ---- killed and restarted before expiry: the agent keeps the clock --------------------------
t0=$(now_ms)
id=$(isolate_id $S4:8003 --ttl 3s)
check $? "isolate --ttl 3s -> id $id"
id=${id:-0}
kill_agent
start_agent
listed "$id"
check $? "after kill -9 and restart, the unexpired action #$id is listed" "$(ctl list 2>&1)"
kernel_has_id "$id"
check $? "after restart, the element is in the kernel" "$(nft_maps)"
assert_refused_fast $S4 8003
exp_after=$(list_json | jq -r --argjson id "$id" '.[] | select(.id == $id) | .expires_ms')
if [ -n "$exp_after" ] && [ "$exp_after" != null ] && [ $((exp_after - $(date +%s%3N))) -le 3000 ]; then
	pass "the restarted agent kept the absolute expiry (not a fresh 3 s)"
else
	fail "the restarted agent should keep the absolute expiry, expires_ms=$exp_after"
fi
if wait_until $((t0 + 4000 - $(now_ms))) gone_from_kernel "$id"; then
	pass "element expired from the kernel $(($(now_ms) - t0)) ms after isolate (TTL 3 s)"
else
	fail "element should be gone from the kernel by 4 s" "$(nft_maps)"
fi
if wait_until $((t0 + 4200 - $(now_ms))) not_listed "$id"; then
	pass "action gone from the list $(($(now_ms) - t0)) ms after isolate (TTL 3 s)"
else
	fail "action should be gone from the list within ~1 s of expiry" "$(ctl list 2>&1)"
fi
assert_ok $S4 8003 A

# ---- a long TTL is carried by the kernel too ------------------------------------------------
id=$(isolate_id "[$S6]:8004" --ttl 1h30m)
id=${id:-0}
nft_elements | grep "\"isol:$id\"" | grep -Eq 'timeout 1h30m|expires 1h(29|30)m'
check $? "a 1h30m TTL is the kernel element's timeout" "$(nft_elements)"
assert_ctl 0 rollback "$id"

# ---- bad TTLs are usage errors -----------------------------------------------------------------
assert_ctl 2 isolate $S4:8005 --ttl 0
assert_ctl 2 isolate $S4:8005 --ttl 10
assert_ctl 2 isolate $S4:8005 --ttl 5x
assert_ctl 2 isolate $S4:8005 --ttl -1s
assert_eq "" "$(list_ids)" "no actions left"

finish
