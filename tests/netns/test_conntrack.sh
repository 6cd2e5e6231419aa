#!/usr/bin/env bash
# test_conntrack.sh - conntrack_kill (agent/conntrack.c, driven by
# build/tools/ctkill) on real flows: the entries of the target go, nothing
# else does; with a DNAT in place (what a steer installs) an established
# connection to the old target is reset on its next packet and new ones reach
# the backup; without NAT the connection goes on (the kernel picks it up again).
# `conntrack` (conntrack-tools) is only the independent witness here.
source "$(dirname "$0")/lib.sh"

CTKILL=$TOOLS/ctkill
missing=()
[ "$(id -u)" = 0 ] || missing+=("root")
for b in ip nft nsenter setpriv conntrack; do
	command -v "$b" >/dev/null || missing+=("$b")
done
for b in "$CTKILL" "$TOOLS/tcpserve" "$TOOLS/tcpcheck" "$TOOLS/udpcheck"; do
	[ -x "$b" ] || missing+=("$b (make tools)")
done
if [ ${#missing[@]} -gt 0 ]; then
	fail "$TEST_NAME: missing: ${missing[*]}"
	finish
fi

topo_up
servers_up

# Conntrack tracks only where a hook needs it: a `ct state` rule in the
# client ns (a table of the test's own, not the agent's inet isol).
in_client nft -f - <<'EOF' || { fail "nft: conntrack table in the client ns"; finish; }
table inet ctwitness {
	chain out {
		type filter hook output priority 0; policy accept;
		ct state established,related counter accept
	}
	chain in {
		type filter hook input priority 0; policy accept;
		ct state established,related counter accept
	}
}
EOF

# ctk TARGET: run ctkill in the client ns; $CT_OUT is its line, $CT_RC its status.
ctk() {
	CT_OUT=$(in_client "$CTKILL" "$1" 2>&1)
	CT_RC=$?
}

# entries FAMILY PROTO DADDR [DPORT]: how many conntrack entries of the client
# ns have that original destination (conntrack -L, the witness).
entries() {
	local args=(-L -f "$1" -p "$2" -d "$3")
	[ -n "${4:-}" ] && args+=(--dport "$4")
	in_client conntrack "${args[@]}" 2>/dev/null | grep -c .
}
entries_dump() { in_client conntrack -L 2>/dev/null | sed -n '1,20p'; }

# assert_deleted TARGET N: ctkill TARGET deleted exactly N entries, within the budget.
assert_deleted() {
	ctk "$1"
	local n ms
	read -r _ n ms <<<"$CT_OUT"
	if [ "$CT_RC" = 0 ] && [ "$n" = "$2" ] && lt "$ms" 250; then
		pass "conntrack_kill $1 deleted $n entries in $ms ms"
	else
		fail "conntrack_kill $1 should delete $2 entries, got: $CT_OUT (exit $CT_RC)" \
			"$(entries_dump)"
	fi
}

# ---- the entry of an established connection goes, the others stay -----------------------------
hold_start plain $S4 8001
hold_start other_port $S4 8002
hold_start other_host $H4 8001
assert_eq 1 "$(entries ipv4 tcp $S4 8001)" "the held connection to $S4:8001 has its entry"
assert_deleted $S4:8001 1
assert_eq 0 "$(entries ipv4 tcp $S4 8001)" "its entry is gone"
assert_eq 1 "$(entries ipv4 tcp $S4 8002)" "the entry of $S4:8002 stays"
assert_eq 1 "$(entries ipv4 tcp $H4 8001)" "the entry of $H4:8001 stays"
assert_deleted $S4:8001 0

# Without NAT, deleting the entry does not cut the connection: its next
# packet is picked up mid-stream (nf_conntrack_tcp_loose) as a new entry.
hold_poke plain
assert_eq "ok A" "${PROBE% *}" "without NAT the connection goes on after its entry is deleted ($PROBE)"
wait_until 1000 test "$(entries ipv4 tcp $S4 8001)" -ge 1
check $? "the mid-stream packets made a new entry for $S4:8001" "$(entries_dump)"

# ---- with a DNAT (the steer): established flows stay until their entry goes --------------------
# The connections are opened first, then the DNAT is added (as a steer would be).
hold_start before_kill $S4 8003
hold_start kept $S4 8003
hold_start kept6 $S6 8003
in_client nft -f - <<EOF || fail "nft: the test's DNAT of port 8003 from A to B"
table ip ctsteer {
	chain out {
		type nat hook output priority -100; policy accept;
		ip daddr $S4 tcp dport 8003 dnat to $H4:8003
	}
}
table ip6 ctsteer6 {
	chain out {
		type nat hook output priority -100; policy accept;
		ip6 daddr $S6 tcp dport 8003 dnat to [$H6]:8003
	}
}
EOF
probe_tcp $S4 8003
assert_eq "ok B" "${PROBE% *}" "a new connection to $S4:8003 is steered to B ($PROBE)"
hold_poke before_kill
assert_eq "ok A" "${PROBE% *}" "an established connection stays on A while its entry lives ($PROBE)"

n_before=$(entries ipv4 tcp $S4 8003)
ctk $S4:8003
read -r _ n ms <<<"$CT_OUT"
if [ "$CT_RC" = 0 ] && [ "${n:-0}" -ge 2 ] && [ "$n" = "$n_before" ]; then
	pass "conntrack_kill $S4:8003 deleted all $n entries (held, closed, steered) in $ms ms"
else
	fail "conntrack_kill $S4:8003 should delete the $n_before entries, got: $CT_OUT" "$(entries_dump)"
fi
hold_poke kept
what=${PROBE%% *} ms=${PROBE##* }
if [ "$what" = reset ] && lt "$ms" 50; then
	pass "the established connection is reset on its next packet, in $ms ms"
else
	fail "the established connection should be reset at once, got: $PROBE"
fi
probe_tcp $S4 8003
assert_eq "ok B" "${PROBE% *}" "reconnecting reaches B ($PROBE)"
assert_eq 1 "$(entries ipv4 tcp $S4 8002)" "the entry of $S4:8002 still stays"

# IPv6: the same
assert_deleted "[$S6]:8003" 1
assert_eq 0 "$(entries ipv6 tcp $S6 8003)" "the IPv6 entry is gone"
hold_poke kept6
what=${PROBE%% *} ms=${PROBE##* }
if [ "$what" = reset ] && lt "$ms" 50; then
	pass "the established IPv6 connection is reset on its next packet, in $ms ms"
else
	fail "the established IPv6 connection should be reset at once, got: $PROBE"
fi
probe_tcp $S6 8003
assert_eq "ok B" "${PROBE% *}" "reconnecting over IPv6 reaches B ($PROBE)"

# ---- UDP, ICMP, protocols and prefixes -----------------------------------------------------------
probe_udp $S4 8005
assert_eq "ok A" "${PROBE% *}" "udp $S4:8005 answers ($PROBE)"
assert_deleted $S4:8005 0 # tcp by default: the udp flow is not one of it
assert_eq 1 "$(entries ipv4 udp $S4 8005)" "the udp entry stays for a tcp target"
assert_deleted $S4:8005/udp 1
assert_eq 0 "$(entries ipv4 udp $S4 8005)" "the udp entry is gone"

in_client conntrack -I -p icmp -s $C4 -d $S4 --icmp-type 8 --icmp-code 0 --icmp-id 77 \
	-t 60 >/dev/null 2>&1
in_client conntrack -I -p icmpv6 -s $C6 -d $S6 --icmpv6-type 128 --icmpv6-code 0 \
	--icmpv6-id 77 -t 60 >/dev/null 2>&1
assert_eq 1 "$(entries ipv4 icmp $S4)" "an ICMP entry to $S4"
# a port range (tcp): the tcp flows to A that are left, not the ICMP one
assert_deleted $S4:1-65535 "$(entries ipv4 tcp $S4)"
assert_eq 1 "$(entries ipv4 icmp $S4)" "the ICMP entry stays for a port target"
left=$(in_client conntrack -L -f ipv4 -d $S4 2>/dev/null | grep -c .)
assert_deleted $S4 "$left" # the host: every protocol, ICMP included
assert_eq 0 "$(in_client conntrack -L -f ipv4 -d $S4 2>/dev/null | grep -c .)" \
	"nothing left to $S4"
assert_eq 1 "$(entries ipv4 tcp $H4 8001)" "the entry of $H4:8001 stays"
assert_eq 1 "$(entries ipv6 icmpv6 $S6)" "an ICMPv6 entry to $S6"
assert_deleted "fd77::/64" "$(in_client conntrack -L -f ipv6 2>/dev/null | grep -c .)"
assert_eq 0 "$(in_client conntrack -L -f ipv6 2>/dev/null | grep -c .)" "no IPv6 entry left"
assert_eq 1 "$(entries ipv4 tcp $H4 8001)" "an IPv6 prefix leaves IPv4 alone"

# ---- thousands of entries -----------------------------------------------------------------------
N=5000
out=$(in_client "$CTKILL" --fill $N 10.77.0.1 10.77.0.9 9999 2>&1)
check $? "$N entries to 10.77.0.9:9999 ($out)"
out=$(in_client "$CTKILL" --fill $N 10.77.0.1 10.77.0.8 9999 2>&1)
check $? "$N entries to 10.77.0.8:9999 ($out)"
assert_deleted 10.77.0.9:9999 $N
assert_eq 0 "$(entries ipv4 tcp 10.77.0.9 9999)" "all $N are gone"
assert_eq $N "$(entries ipv4 tcp 10.77.0.8 9999)" "the $N to 10.77.0.8 stay"
assert_deleted 10.77.0.8:9990-9999 $N

# More than one call can do in its budget (or not, on a fast machine): each
# call returns in time, says what it did, and the calls together get them all.
N=30000
in_client "$CTKILL" --fill $N 10.77.0.1 10.77.0.7 9998 >/dev/null 2>&1
total=0 calls=0 slow=""
while [ $calls -lt 20 ]; do
	t0=$(now_ms)
	ctk 10.77.0.0/24:9998
	dt=$(($(now_ms) - t0))
	calls=$((calls + 1))
	[ "$dt" -gt 400 ] && slow+=" call $calls took $dt ms;"
	if [ "$CT_RC" = 0 ]; then
		total=$((total + $(awk '{print $2}' <<<"$CT_OUT")))
		break
	fi
	case $CT_OUT in
	"error -110 deleted "*) total=$((total + $(awk '{print $4}' <<<"$CT_OUT"))) ;;
	*)
		fail "conntrack_kill 10.77.0.0/24:9998: $CT_OUT"
		break
		;;
	esac
done
assert_eq $N "$total" "$calls call(s) deleted all $N entries (last: $CT_OUT)"
assert_eq "" "$slow" "every call returned within the budget"

# ---- errors -----------------------------------------------------------------------------------------
out=$(in_client setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	--bounding-set=-all "$CTKILL" $H4:8001 2>&1)
rc=$?
assert_eq 1 "$rc" "without CAP_NET_ADMIN ctkill fails ($out)"
assert_contains "$out" "CAP_NET_ADMIN" "the message names CAP_NET_ADMIN"
assert_contains "$out" "error -1 " "the code is -EPERM"
assert_eq 1 "$(entries ipv4 tcp $H4 8001)" "and the entry of $H4:8001 is still there"

finish
