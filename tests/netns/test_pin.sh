#!/usr/bin/env bash
# test_pin.sh - `isolctl pin HOST ADDR`: the real resolver (getent, in a mount
# namespace where the test's file is /etc/hosts) returns ADDR; every other
# byte of the file is kept; rollback gives the file back byte for byte; an
# edit that removes the block is undone; TTLs pass also while the agent is down.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up

HOSTS=$TMP/hosts
printf '127.0.0.1\tlocalhost\n# the operator'"'"'s own lines\n10.1.2.3 legacy.internal legacy\r\n::1 localhost ip6-localhost' >"$HOSTS"
chmod 0644 "$HOSTS"
cp "$HOSTS" "$TMP/hosts.orig"
start_agent --hosts-file "$HOSTS" || finish

resolve() { # NAME: what the system resolver says, with $HOSTS as /etc/hosts
	unshare -m sh -c "mount --bind '$HOSTS' /etc/hosts && getent ahosts '$1' | awk '{print \$1; exit}'"
}
pin_id() {
	local o
	o=$(ctl --json pin "$@" 2>&1) || { echo "pin $* failed: $o" >&2; return 1; }
	printf '%s' "$o" | jq -r '.action.id'
}

assert_eq "" "$(resolve mq.internal)" "mq.internal does not resolve before the pin"
assert_eq "10.1.2.3" "$(resolve legacy.internal)" "legacy.internal resolves from the file"
id=$(pin_id mq.internal $S4 --reason "broker moved")
assert_eq "$S4" "$(resolve mq.internal)" "getent resolves the pinned address"
assert_eq "10.1.2.3" "$(resolve legacy.internal)" "the operator's entries still resolve"
tail -c "$(stat -c %s "$TMP/hosts.orig")" "$HOSTS" | cmp -s - "$TMP/hosts.orig" &&
	pass "every byte of the file's own is kept, after the block" || fail "the file's own bytes changed"
head -n 1 "$HOSTS" | grep -q '^# BEGIN isol' && pass "the block comes first (a pin wins over the file's entry)" ||
	fail "the block is not at the top" "$(head -n 3 "$HOSTS")"
assert_eq "644" "$(stat -c %a "$HOSTS")" "the file's mode is kept"
id6=$(pin_id db.internal "$S6" --check-port 8001)
idl=$(pin_id legacy.internal $H4)
assert_eq "$H4" "$(resolve legacy.internal)" "a pin wins over the file's own entry for the name"
assert_ctl 0 rollback "$idl"
assert_eq "10.1.2.3" "$(resolve legacy.internal)" "and the file's entry is back after rollback"
assert_eq "$S6" "$(resolve db.internal)" "an IPv6 pin resolves"
listed "$id6" && pass "pins are listed" || fail "pin $id6 not listed"

# ---- refusals change nothing --------------------------------------------------
cp "$HOSTS" "$TMP/hosts.before"
run_ctl pin mq.internal $H4
assert_eq 1 "$RC" "a hostname pinned twice is refused" "$OUT"
run_ctl pin web.internal $H4 --check-port 8999
assert_eq 1 "$RC" "--check-port refuses an address that does not answer" "$OUT"
assert_contains "$OUT" "8999" "the message names the port"
for bad in "bad host $S4" "x..y $S4" "ok.internal 10.1.2.300" "ok.internal $S4:80"; do
	# shellcheck disable=SC2086
	run_ctl pin $bad
	assert_eq 2 "$RC" "pin $bad is a usage error" "$OUT"
done
cmp -s "$HOSTS" "$TMP/hosts.before" && pass "refused pins left the file alone" ||
	fail "a refused pin changed the file"

# ---- rollback: the file is what it was ------------------------------------------
assert_ctl 0 rollback "$id6"
assert_ctl 0 restore mq.internal
cmp -s "$HOSTS" "$TMP/hosts.orig" && pass "after rollback the file is byte for byte the original" ||
	fail "the file differs from the original" "$(diff <(od -c "$TMP/hosts.orig") <(od -c "$HOSTS") | head)"
assert_eq "" "$(resolve mq.internal)" "mq.internal no longer resolves"

# ---- someone edits the block away (an editor: write a copy, rename it in) ---------
id=$(pin_id mq.internal $S4)
{ sed '/# BEGIN isol/,/# END isol/d' "$HOSTS"; printf '\n10.9.9.9 added.by.hand\n'; } >"$TMP/edited"
mv "$TMP/edited" "$HOSTS"
wait_until 3000 grep -q "isol:$id" "$HOSTS" && pass "the block is put back after an edit" ||
	fail "the block was not put back" "$(cat "$HOSTS")"
assert_eq "$S4" "$(resolve mq.internal)" "the pin resolves again"
assert_eq "10.9.9.9" "$(resolve added.by.hand)" "the operator's edit outside the block stays"
assert_ctl 0 restore mq.internal
grep -q added.by.hand "$HOSTS" && pass "their line outlives our rollback" ||
	fail "their line was lost"
grep -q 'BEGIN isol' "$HOSTS" && fail "our block is left after the rollback" ||
	pass "no block left after the rollback"

# ---- TTLs: expired while the agent was down -> removed at start; valid ones kept ------
short=$(pin_id short.internal $S4 --ttl 1s)
long=$(pin_id long.internal $H4 --ttl 10m)
kill_agent
sleep 1.3
start_agent --hosts-file "$HOSTS" || finish
wait_until 1000 not_listed "$short" && pass "a pin whose TTL passed while the agent was down is gone" ||
	fail "expired pin still listed"
assert_eq "" "$(resolve short.internal)" "the expired pin no longer resolves"
assert_eq "$H4" "$(resolve long.internal)" "the valid pin is kept"

# ---- a file that cannot be written: clear error, nothing changed ------------------
chattr +i "$HOSTS" 2>/dev/null && immutable=1 || immutable=0
if [ "$immutable" = 1 ]; then
	state_snapshot
	run_ctl pin ro.internal $S4
	assert_eq 1 "$RC" "pin into an unwritable hosts file exits 1" "$OUT"
	assert_contains "$OUT" "$HOSTS" "the message names the file"
	assert_unchanged "pin into an unwritable file"
	chattr -i "$HOSTS"
else
	log "chattr +i not supported here: unwritable-file case skipped"
fi
cp "$HOSTS" "$TMP/hosts.before-all"
assert_ctl 0 rollback --all
grep -q 'BEGIN isol' "$HOSTS" && fail "rollback --all left our block" ||
	pass "rollback --all removes our block"
grep -q 'long.internal' "$HOSTS" && fail "rollback --all left a pin" || pass "and its pins"
finish
