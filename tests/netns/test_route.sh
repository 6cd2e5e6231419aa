#!/usr/bin/env bash
# test_route.sh - routes (agent/route.c) on a real kernel: which gateway
# carries the packets, existing routes never touched unless --replace, the
# replaced route put back exactly, a route deleted by another tool noticed,
# bad gateways and interfaces refused with nothing changed; IPv4 and IPv6.
#
#   client ns ($NSC)             gw1 ns ($NG1)                 server ns ($NSS)
#    c1 10.71.1.1  fd71:1::1 <-> g1c 10.71.1.2 fd71:1::2
#                                g1s 10.71.3.1 fd71:3::1 <-> s1 10.71.3.2 fd71:3::2
#    c2 10.71.2.1  fd71:2::1 <-> g2c 10.71.2.2 fd71:2::2       (gw2 ns, $NG2)
#                                g2s 10.71.4.1 fd71:4::1 <-> s2 10.71.4.2 fd71:4::2
#    default via gw1 (both families)                          sv0 10.9.0.1/24 fd09::1/64
#    unreachable 10.66.0.0/16                                  tcpserve "S" on :8001
#
# Which gateway carried a connection: nft counters in each gateway's forward
# hook. Only these namespaces and addresses are used.
#
# Part 1 drives the module itself through `build/tests/test_route ctl ...` (a
# driver inside the unit-test binary, linked with libagent). Part 2 drives the
# same through isolagent and `isolctl route` (skipped, saying so, while
# `isolctl route --help` does not work).
source "$(dirname "$0")/lib.sh"
need_root_and_tools

DRV=$BUILD/tests/test_route
NG1=isolg1$NS_ID
NG2=isolg2$NS_ID
[ -x "$DRV" ] || { fail "missing $DRV (make units)"; finish; }

in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# ---- topology -------------------------------------------------------------------------

veth() { # NS1 IF1 NS2 IF2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
		ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

addr() { # NS IF ADDR/LEN...
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" ;;
		esac
	done
}

route_topo_up() {
	local ns g
	for ns in "$NSC" "$NG1" "$NG2" "$NSS"; do
		ip netns add "$ns" || { fail "ip netns add $ns"; finish; }
		NS_MADE+=("$ns")
		ip -n "$ns" link set lo up
		# no duplicate address detection (addresses usable at once); IPv6
		# addresses kept across link down/up (one test takes c2 down)
		in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.keep_addr_on_down=1 \
			net.ipv6.conf.all.keep_addr_on_down=1
	done
	{ veth "$NSC" c1 "$NG1" g1c && veth "$NSC" c2 "$NG2" g2c && veth "$NG1" g1s "$NSS" s1 &&
		veth "$NG2" g2s "$NSS" s2 && veth "$NSS" sv0 "$NSS" sv1; } ||
		{ fail "veth pairs"; finish; }
	addr "$NSC" c1 10.71.1.1/24 fd71:1::1/64
	addr "$NSC" c2 10.71.2.1/24 fd71:2::1/64
	addr "$NG1" g1c 10.71.1.2/24 fd71:1::2/64
	addr "$NG1" g1s 10.71.3.1/24 fd71:3::1/64
	addr "$NG2" g2c 10.71.2.2/24 fd71:2::2/64
	addr "$NG2" g2s 10.71.4.1/24 fd71:4::1/64
	addr "$NSS" s1 10.71.3.2/24 fd71:3::2/64
	addr "$NSS" s2 10.71.4.2/24 fd71:4::2/64
	addr "$NSS" sv0 10.9.0.1/24 fd09::1/64
	ip -n "$NSC" route add default via 10.71.1.2
	ip -n "$NSC" -6 route add default via fd71:1::2
	ip -n "$NSC" route add unreachable 10.66.0.0/16
	ip -n "$NG1" route add 10.9.0.0/24 via 10.71.3.2
	ip -n "$NG1" -6 route add fd09::/64 via fd71:3::2
	ip -n "$NG2" route add 10.9.0.0/24 via 10.71.4.2
	ip -n "$NG2" -6 route add fd09::/64 via fd71:4::2
	ip -n "$NSS" route add 10.71.1.0/24 via 10.71.3.1
	ip -n "$NSS" route add 10.71.2.0/24 via 10.71.4.1
	ip -n "$NSS" -6 route add fd71:1::/64 via fd71:3::1
	ip -n "$NSS" -6 route add fd71:2::/64 via fd71:4::1
	for g in "$NG1" "$NG2"; do
		in_ns "$g" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		in_ns "$g" nft -f - <<-'EOF' || { fail "nft counters in $g"; finish; }
		table inet counts {
			chain fwdcount {
				type filter hook forward priority 0; policy accept;
				ip daddr 10.9.0.0/24 counter
				ip6 daddr fd09::/64 counter
			}
		}
		EOF
	done
	bg_server srvS "$TOOLS/tcpserve" --name S --ready-file "$TMP/srvS.ready" 10.9.0.1:8001 \
		"[fd09::1]:8001"
	wait_until 3000 test -e "$TMP/srvS.ready" ||
		{ fail "server S did not start" "$(cat "$TMP/srvS.out")"; finish; }
	for a in 10.9.0.1 fd09::1; do
		wait_until 5000 in_client "$TOOLS/tcpcheck" --timeout 300 "$(ep $a 8001)" ||
			{ fail "no path to $a through gw1"; finish; }
	done
}

# ---- what the client sees ----------------------------------------------------------------

fwd_count() { # NS 4|6: packets the gateway forwarded to the server
	in_ns "$1" nft list chain inet counts fwdcount 2>/dev/null | awk -v f="$2" '
		(f == 4 && /(^|[ \t])ip daddr /) || (f == 6 && /(^|[ \t])ip6 daddr /) {
			for (i = 1; i < NF; i++) if ($i == "packets") n = $(i + 1)
		}
		END { print n + 0 }'
}

# carrier ADDR: a TCP connection to ADDR:8001 from the client; $CARRIER is
# gw1, gw2, both or none (whose forward counter moved), $PROBE what tcpcheck saw.
carrier() {
	local f=4 a1 a2 b1 b2
	[[ $1 == *:* ]] && f=6
	a1=$(fwd_count "$NG1" $f)
	a2=$(fwd_count "$NG2" $f)
	probe_tcp "$1" 8001
	b1=$(fwd_count "$NG1" $f)
	b2=$(fwd_count "$NG2" $f)
	if [ $((b1 - a1)) -gt 0 ] && [ $((b2 - a2)) -gt 0 ]; then
		CARRIER=both
	elif [ $((b1 - a1)) -gt 0 ]; then
		CARRIER=gw1
	elif [ $((b2 - a2)) -gt 0 ]; then
		CARRIER=gw2
	else
		CARRIER=none
	fi
}

# assert_carrier ADDR gw1|gw2 WHY: the connection works and went through that gateway.
assert_carrier() {
	carrier "$1"
	local get
	get=$(in_client ip route get "$1" 2>&1 | head -n 1)
	if [ "$CARRIER" = "$2" ] && [[ "$PROBE" == "ok S"* ]]; then
		pass "$3: $1 reached through $2 ($get)"
	else
		fail "$3: $1 should be reached through $2, went through $CARRIER: $PROBE" \
			"ip route get: $get"
	fi
}

# assert_probe ADDR OUTCOME WHY: what a connecting client sees (tcpcheck's first word).
assert_probe() {
	probe_tcp --timeout 500 "$1" 8001
	assert_eq "$2" "${PROBE%% *}" "$3: connect to $1 -> $PROBE"
}

routes_all() {
	in_client ip -4 route show table all
	in_client ip -6 route show table all
}

show4() { in_client ip -4 route show "$@"; }
show6() { in_client ip -6 route show "$@"; }

# ---- the driver --------------------------------------------------------------------------

# run_rt ARGS...: `test_route ctl ARGS` in the client ns; $OUT, $RC.
run_rt() {
	OUT=$(in_client "$DRV" ctl "$@" 2>&1)
	RC=$?
}

assert_rt() { # RC ARGS...
	local want=$1
	shift
	run_rt "$@"
	if [ "$RC" = "$want" ]; then
		pass "route $* -> exit $RC${OUT:+ ($(head -n 1 <<<"$OUT"))}"
	else
		fail "route $* -> exit $RC, expected $want" "$OUT"
	fi
}

# refuse_rt MESSAGE ROUTE...: refused with MESSAGE, no route changed.
refuse_rt() {
	local msg=$1 before
	shift
	before=$(routes_all)
	run_rt add "$@"
	if [ "$RC" = 1 ] && [[ "$OUT" == *"$msg"* ]]; then
		pass "refused: $* ($OUT)"
	else
		fail "route $* should be refused with '$msg' (exit $RC)" "$OUT"
	fi
	assert_eq "$before" "$(routes_all)" "  ... and no route changed"
}

route_topo_up

# ===========================================================================================
# Part 1: the module, through the driver
# ===========================================================================================
log "part 1: agent/route.c through $DRV ctl"

# ---- baseline ----------------------------------------------------------------------------
assert_carrier 10.9.0.1 gw1 "baseline"
assert_carrier fd09::1 gw1 "baseline"

# ---- a route via gw2, and back ------------------------------------------------------------
assert_rt 0 check 10.9.0.0/24 via 10.71.2.2
assert_eq free "$OUT" "the place of 10.9.0.0/24 is free"
assert_rt 0 add 10.9.0.0/24 via 10.71.2.2
assert_contains "$(show4 10.9.0.0/24)" "via 10.71.2.2 dev c2 proto 105" "the route carries protocol 105"
assert_carrier 10.9.0.1 gw2 "after route via gw2"
assert_carrier fd09::1 gw1 "IPv6 untouched"
assert_rt 3 check 10.9.0.0/24 via 10.71.1.2
assert_contains "$OUT" "isol has a route there already: 10.9.0.0/24 via 10.71.2.2 dev c2 metric 0 proto isol" \
	"check shows our own route"
assert_rt 1 add 10.9.0.0/24 via 10.71.1.2
assert_rt 3 lookup 10.9.0.0/24 blackhole
assert_eq "10.9.0.0/24 via 10.71.2.2 dev c2 metric 0 proto isol scope universe type unicast table 254" \
	"$OUT" "lookup gives the route at the key"
assert_rt 0 del 10.9.0.0/24 via 10.71.2.2
assert_eq "" "$(show4 10.9.0.0/24)" "route deleted"
assert_carrier 10.9.0.1 gw1 "after delete"
assert_rt 0 del 10.9.0.0/24 via 10.71.2.2

assert_rt 0 add 10.9.0.0/24 via 10.71.2.2 dev c2 metric 7
assert_contains "$(show4 10.9.0.0/24)" "via 10.71.2.2 dev c2 proto 105 metric 7" "dev and metric"
assert_carrier 10.9.0.1 gw2 "dev c2 metric 7"
assert_rt 0 del 10.9.0.0/24 via 10.71.2.2 metric 7
assert_eq "" "$(show4 10.9.0.0/24)" "route with metric 7 deleted"

# IPv6
assert_rt 0 add fd09::/64 via fd71:2::2
assert_contains "$(show6 fd09::/64)" "via fd71:2::2 dev c2 proto 105 metric 1024" "IPv6 route"
assert_carrier fd09::1 gw2 "IPv6 after route via gw2"
assert_carrier 10.9.0.1 gw1 "IPv4 untouched"
assert_rt 0 del fd09::/64 via fd71:2::2
assert_eq "" "$(show6 fd09::/64)" "IPv6 route deleted"
assert_carrier fd09::1 gw1 "IPv6 after delete"
# a link-local gateway, with its interface
ll_ready() { ip -n "$NG2" -6 addr show dev g2c scope link | grep -v tentative | grep -q 'inet6 fe80'; }
wait_until 3000 ll_ready
LL2=$(ip -n "$NG2" -6 addr show dev g2c scope link | awk '/inet6 fe80/ { sub("/.*", "", $2); print $2; exit }')
assert_rt 0 add fd09::/64 via "$LL2" dev c2
assert_carrier fd09::1 gw2 "IPv6 via gw2's link-local address $LL2"
assert_rt 0 del fd09::/64 via "$LL2" dev c2
assert_eq "" "$(show6 fd09::/64)" "IPv6 route via a link-local gateway deleted"

# ---- bad gateways and interfaces: refused, nothing changed --------------------------------
refuse_rt "no interface named nosuch0" 10.9.0.0/24 via 10.71.2.2 dev nosuch0
refuse_rt "gateway 10.65.0.1 is not on a directly connected network (the kernel reaches it via 10.71.1.2 dev c1)" \
	10.9.0.0/24 via 10.65.0.1
refuse_rt "gateway 10.66.0.1 is not reachable: no route to it" 10.9.0.0/24 via 10.66.0.1
t0=$(now_ms)
refuse_rt "gateway 10.71.2.99 does not answer on c2 (no ARP reply" 10.9.0.0/24 via 10.71.2.99
log "silent gateway refused after $(($(now_ms) - t0)) ms"
refuse_rt "gateway 10.71.2.2 is not reachable on c1 (it is on c2)" 10.9.0.0/24 via 10.71.2.2 dev c1
refuse_rt "gateway 10.71.1.1 is an address of this host" 10.9.0.0/24 via 10.71.1.1
refuse_rt "is link-local: name its interface" fd09::/64 via fe80::1
refuse_rt "gateway fd65::1 is not on a directly connected network" fd09::/64 via fd65::1
refuse_rt "gateway fd71:2::99 does not answer on c2 (no neighbour discovery reply" fd09::/64 via fd71:2::99
refuse_rt "gateway fe80::99 does not answer on c2" fd09::/64 via fe80::99 dev c2
ip -n "$NSC" link set c2 down
refuse_rt "interface c2 is down" 10.9.0.0/24 via 10.71.2.2 dev c2
ip -n "$NSC" link set c2 up
wait_until 3000 in_client ip route get 10.71.2.2 oif c2
assert_rt 2 add 10.9.0.1/24 via 10.71.2.2 # the driver's parser: host bits set

# ---- existing routes: never deleted or changed without --replace -------------------------
in_client ip route add 10.9.0.0/24 via 10.71.1.2 proto static
in_client ip -6 route add fd09::/64 via fd71:1::2 proto static
orig4=$(show4 10.9.0.0/24)
orig6=$(show6 fd09::/64)
refuse_rt "a route exists: 10.9.0.0/24 via 10.71.1.2 dev c1 metric 0 proto static scope universe type unicast table 254 (--replace" \
	10.9.0.0/24 via 10.71.2.2
refuse_rt "a route exists: fd09::/64 via fd71:1::2 dev c1 metric 1024 proto static" fd09::/64 via fd71:2::2
refuse_rt "a route exists: 10.9.0.0/24 via 10.71.1.2" 10.9.0.0/24 blackhole
before=$(routes_all)
assert_rt 0 del 10.9.0.0/24 via 10.71.1.2
assert_rt 0 del fd09::/64 via fd71:1::2
assert_rt 0 flush
assert_eq "$before" "$(routes_all)" "del and flush leave routes of other protocols alone"

# another metric is another place: ours is added, the old one still wins
assert_rt 0 add 10.9.0.0/24 via 10.71.2.2 metric 10
assert_contains "$(show4 10.9.0.0/24)" "$orig4" "the existing route is still there"
assert_carrier 10.9.0.1 gw1 "metric 0 (theirs) wins over metric 10 (ours)"
assert_rt 0 del 10.9.0.0/24 via 10.71.2.2 metric 10
assert_eq "$orig4" "$(show4 10.9.0.0/24)" "deleting ours at metric 10 left theirs at metric 0"

# --replace, then put back exactly
assert_rt 0 add 10.9.0.0/24 via 10.71.2.2 --replace --save "$TMP/saved4"
assert_contains "$OUT" "saved 10.9.0.0/24 via 10.71.1.2 dev c1 metric 0 proto static" "the replaced route is saved"
assert_eq "10.9.0.0/24 via 10.71.2.2 dev c2 proto 105 " "$(show4 10.9.0.0/24)" "ours took its place"
assert_carrier 10.9.0.1 gw2 "after --replace"
assert_rt 0 restore "$TMP/saved4"
assert_eq "$orig4" "$(show4 10.9.0.0/24)" "the replaced route is back as it was"
assert_carrier 10.9.0.1 gw1 "after restore"
assert_rt 0 restore "$TMP/saved4" # already there: nothing to do
assert_eq "$orig4" "$(show4 10.9.0.0/24)" "a second restore changes nothing"

assert_rt 0 add fd09::/64 via fd71:2::2 --replace --save "$TMP/saved6"
assert_contains "$(show6 fd09::/64)" "via fd71:2::2 dev c2 proto 105 metric 1024" "IPv6: ours took its place"
assert_carrier fd09::1 gw2 "IPv6 after --replace"
assert_rt 0 restore "$TMP/saved6"
assert_eq "$orig6" "$(show6 fd09::/64)" "IPv6: the replaced route is back as it was"
assert_carrier fd09::1 gw1 "IPv6 after restore"

# a route with more to it: source, route metrics, multipath
in_client ip route replace 10.9.0.0/24 src 10.71.1.1 mtu 1400 advmss 1360 proto static \
	nexthop via 10.71.1.2 dev c1 weight 2 nexthop via 10.71.2.2 dev c2 weight 1
orig4m=$(show4 10.9.0.0/24)
assert_rt 0 add 10.9.0.0/24 blackhole --replace --save "$TMP/saved4m"
assert_contains "$OUT" "nexthop via 10.71.1.2 dev c1 weight 2 nexthop via 10.71.2.2 dev c2 weight 1" \
	"a multipath route is saved"
assert_probe 10.9.0.1 error "blackhole in its place"
assert_rt 0 restore "$TMP/saved4m"
assert_eq "$orig4m" "$(show4 10.9.0.0/24)" "the multipath route is back as it was"

# restore refuses to overwrite a route somebody else put there meanwhile
in_client ip route replace 10.9.0.0/24 via 10.71.1.2 proto static
assert_rt 0 add 10.9.0.0/24 via 10.71.2.2 --replace --save "$TMP/saved4"
in_client ip route replace 10.9.0.0/24 via 10.71.2.2 proto boot
assert_rt 1 restore "$TMP/saved4"
assert_contains "$OUT" "another route is there now: 10.9.0.0/24 via 10.71.2.2 dev c2 metric 0 proto boot" \
	"restore names the route in the way"
assert_eq "10.9.0.0/24 via 10.71.2.2 dev c2 " "$(show4 10.9.0.0/24)" "the other tool's route (proto boot) was left alone"
in_client ip route del 10.9.0.0/24
in_client ip -6 route del fd09::/64

# ---- blackhole, unreachable, prohibit as a client sees them -------------------------------
for t in blackhole:error unreachable:unreachable prohibit:denied; do
	assert_rt 0 add 10.9.0.0/24 "${t%%:*}"
	assert_contains "$(show4 table all 10.9.0.0/24)" "${t%%:*} 10.9.0.0/24 proto 105" "${t%%:*} route"
	assert_probe 10.9.0.1 "${t##*:}" "${t%%:*}"
	assert_rt 0 del 10.9.0.0/24 "${t%%:*}"
	assert_carrier 10.9.0.1 gw1 "after the ${t%%:*} route went"
done
assert_rt 0 add fd09::/64 prohibit
assert_probe fd09::1 denied "IPv6 prohibit"
assert_rt 0 del fd09::/64 prohibit
assert_carrier fd09::1 gw1 "after the IPv6 prohibit route went"
assert_rt 0 add 10.9.0.0/24 blackhole table 100 metric 5
assert_contains "$(show4 table 100)" "blackhole 10.9.0.0/24 proto 105 metric 5" "table 100"
assert_rt 0 del 10.9.0.0/24 blackhole table 100 metric 5
assert_eq "" "$(show4 table 100 2>/dev/null)" "table 100 empty again"

# ---- events: our routes deleted or replaced by another tool -------------------------------
bg_client watch "$DRV" ctl watch 5000
wait_until 2000 grep -q '^ready' "$TMP/watch.out" || fail "route watcher did not start" "$(cat "$TMP/watch.out")"
assert_rt 0 add 10.8.0.0/24 blackhole
assert_rt 0 add fd08::/64 unreachable
assert_rt 0 add 10.9.0.0/24 via 10.71.2.2
in_client ip route add 10.7.0.0/24 via 10.71.1.2 proto static
in_client ip route del 10.8.0.0/24
in_client ip -6 route del fd08::/64
in_client ip route replace 10.9.0.0/24 via 10.71.1.2 proto static
in_client ip route del 10.7.0.0/24
wait_until 2000 grep -q '^deleted 10.8.0.0/24 blackhole$' "$TMP/watch.out"
check $? "ip route del of our IPv4 route is reported" "$(cat "$TMP/watch.out")"
wait_until 2000 grep -q '^deleted fd08::/64 unreachable$' "$TMP/watch.out"
check $? "ip -6 route del of our IPv6 route is reported" "$(cat "$TMP/watch.out")"
wait_until 2000 grep -q '^replaced 10.9.0.0/24 metric 0 table 254$' "$TMP/watch.out"
check $? "ip route replace over our route is reported (by its key)" "$(cat "$TMP/watch.out")"
! grep -q '10.7.0.0' "$TMP/watch.out"
check $? "routes of other protocols are not reported" "$(cat "$TMP/watch.out")"
in_client ip route del 10.9.0.0/24

# ---- flush: every route of ours, in every table, nothing else --------------------------------
in_client ip route add 10.7.0.0/24 via 10.71.1.2 proto static
assert_rt 0 add 10.8.0.0/24 blackhole table 100
assert_rt 0 add fd08::/64 prohibit
assert_rt 0 add 10.9.0.0/24 via 10.71.2.2 metric 3
assert_rt 0 add fd09::/64 via fd71:2::2 metric 3
assert_rt 0 flush
assert_eq "" "$(show4 table all proto 105; show6 table all proto 105)" "flush removed every route of ours"
assert_contains "$(show4 10.7.0.0/24)" "via 10.71.1.2 dev c1 proto static" "flush left the static route"
in_client ip route del 10.7.0.0/24
assert_carrier 10.9.0.1 gw1 "after flush"
assert_carrier fd09::1 gw1 "after flush"

# ===========================================================================================
# Part 2: isolctl route, through the agent
# ===========================================================================================
if ! "$CTL_BIN" route --help >/dev/null 2>&1; then
	log "part 2 skipped: isolctl route is not there yet (build/isolctl route --help fails)"
	finish
fi
log "part 2: isolctl route through isolagent"
NSC_ROUTES_BEFORE=$(routes_all)
start_agent || finish

ours() { # PREFIX: a route of ours is at PREFIX
	[ -n "$(in_client ip route show table all proto 105 "$1" 2>/dev/null)" ] ||
		[ -n "$(in_client ip -6 route show table all proto 105 "$1" 2>/dev/null)" ]
}
not_ours() { ! ours "$1"; }

# ---- route chosen, rollback --------------------------------------------------------------
assert_ctl 0 route 10.9.0.0/24 via 10.71.2.2 --reason "gw1 flapping"
assert_carrier 10.9.0.1 gw2 "isolctl route via gw2"
run_ctl list
assert_contains "$OUT" "10.9.0.0/24" "isolctl list shows the route"
assert_ctl 0 rollback --last
assert_eq "" "$(show4 10.9.0.0/24)" "rollback deleted the route"
assert_carrier 10.9.0.1 gw1 "after rollback"

assert_ctl 0 route fd09::/64 via fd71:2::2 dev c2 --metric 5
assert_contains "$(show6 fd09::/64)" "via fd71:2::2 dev c2 proto 105 metric 5" "IPv6 route with dev and metric"
assert_carrier fd09::1 gw2 "isolctl route IPv6 via gw2"
assert_ctl 0 rollback --last
assert_carrier fd09::1 gw1 "IPv6 after rollback"

# ---- deleted by another tool: the agent puts it back ---------------------------------------
assert_ctl 0 route 10.9.0.0/24 via 10.71.2.2
in_client ip route del 10.9.0.0/24
t0=$(now_ms)
if wait_until 2000 ours 10.9.0.0/24; then
	pass "the agent put its deleted route back in $(($(now_ms) - t0)) ms"
else
	fail "the agent did not put its deleted route back" "$(tail -n 5 "$AGENT_LOG")"
fi
assert_carrier 10.9.0.1 gw2 "after the agent put it back"
assert_ctl 0 rollback --last
sleep 0.3
not_ours 10.9.0.0/24
check $? "a rolled back route stays gone" "$(show4 10.9.0.0/24)"

# ---- existing route: refused, shown; --replace; rollback puts it back -----------------------
in_client ip route add 10.9.0.0/24 via 10.71.1.2 proto static
orig4=$(show4 10.9.0.0/24)
before=$(routes_all)
assert_ctl 1 route 10.9.0.0/24 via 10.71.2.2
assert_contains "$OUT" "10.9.0.0/24 via 10.71.1.2 dev c1 metric 0 proto static" "the refusal shows the existing route"
assert_eq "$before" "$(routes_all)" "  ... and no route changed"
assert_ctl 0 route 10.9.0.0/24 via 10.71.2.2 --replace
assert_eq "10.9.0.0/24 via 10.71.2.2 dev c2 proto 105 " "$(show4 10.9.0.0/24)" "--replace: ours in its place"
assert_carrier 10.9.0.1 gw2 "after --replace"
assert_ctl 0 rollback --last
assert_eq "$orig4" "$(show4 10.9.0.0/24)" "rollback put the replaced route back as it was"
assert_carrier 10.9.0.1 gw1 "after rolling back --replace"

# the replaced route survives a crash of the agent (journaled)
assert_ctl 0 route 10.9.0.0/24 via 10.71.2.2 --replace
kill_agent
start_agent || finish
assert_carrier 10.9.0.1 gw2 "the route outlives the agent's crash"
assert_ctl 0 rollback --last
assert_eq "$orig4" "$(show4 10.9.0.0/24)" "after a crash, rollback still puts the replaced route back"
in_client ip route del 10.9.0.0/24

# ---- bad gateway, unknown interface: exit 1, clear message, nothing changed -----------------
before=$(routes_all)
assert_ctl 1 route 10.9.0.0/24 via 10.71.2.2 dev nosuch0
assert_contains "$OUT" "no interface named nosuch0" "unknown interface named"
assert_ctl 1 route 10.9.0.0/24 via 10.65.0.1
assert_contains "$OUT" "10.65.0.1 is not on a directly connected network" "off-link gateway named"
assert_ctl 1 route 10.9.0.0/24 via 10.71.2.99
assert_contains "$OUT" "10.71.2.99 does not answer" "silent gateway named"
assert_ctl 1 route fd09::/64 via fd71:2::99
assert_contains "$OUT" "fd71:2::99 does not answer" "silent IPv6 gateway named"
assert_eq "$before" "$(routes_all)" "no route changed by the refusals"
assert_eq "" "$(list_ids)" "no action left by the refusals"

# ---- TTL: the agent deletes the route when it runs out ---------------------------------------
assert_ctl 0 route 10.9.0.0/24 blackhole --ttl 1s
assert_probe 10.9.0.1 error "blackhole while its TTL runs"
if wait_until 3000 not_ours 10.9.0.0/24; then
	pass "the route went when its TTL ran out"
else
	fail "the route is still there after its TTL" "$(show4 10.9.0.0/24)"
fi
assert_carrier 10.9.0.1 gw1 "after the TTL"

# ---- rollback --all -----------------------------------------------------------------------------
assert_ctl 0 route 10.9.0.0/24 prohibit
assert_ctl 0 route fd09::/64 unreachable
assert_probe fd09::1 unreachable "IPv6 unreachable"
assert_ctl 0 rollback --all
assert_eq "$NSC_ROUTES_BEFORE" "$(routes_all)" "rollback --all left the routes as they were before the agent"

# ---- isolagent --flush: our routes go with the table, nobody else's ------------------------------
in_client ip route add 10.7.0.0/24 via 10.71.1.2 proto static
assert_ctl 0 route 10.9.0.0/24 via 10.71.2.2
assert_ctl 0 route fd09::/64 blackhole --metric 9
stop_agent
ours 10.9.0.0/24
check $? "routes stay in force while the agent is stopped" "$(show4 10.9.0.0/24)"
out=$(in_client "$AGENT_BIN" --flush --socket "$SOCK" --state-dir "$STATE" 2>&1)
assert_eq 0 "$?" "isolagent --flush exits 0" "$out"
assert_eq "" "$(show4 table all proto 105; show6 table all proto 105)" "isolagent --flush removed our routes"
assert_contains "$(show4 10.7.0.0/24)" "via 10.71.1.2 dev c1 proto static" "isolagent --flush left the static route"
in_client ip route del 10.7.0.0/24
assert_carrier 10.9.0.1 gw1 "after isolagent --flush"

finish
