#!/usr/bin/env bash
# test_probe.sh - the probes against real servers in a namespace (driven by
# tests/tools/probectl, which links the agent's probe module): tcp pass,
# refused, dropped; http status ranges on an open port, Host header, timeout;
# https certificate checks (a self-signed server fails by default); icmp,
# through a raw socket where ping sockets are not allowed; exec with a
# deadline that kills the whole process group; failures of this host (no
# route, no file descriptors, neither ping nor raw sockets allowed, no such
# command) are neutral; a load check of many tcp probes at once; and probes
# see the real target through isol's own isolation and steering: those that
# carry the mark, and exec commands, which run in a cgroup the table exempts
# (through probectl, which shares the agent's cgroup here, and through a
# policy of the agent itself).
#
# PROBE_BENCH=N: also run N tcp probes at a 1 s interval for
# PROBE_BENCH_SECONDS (10) and print the prober's CPU time per second.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
for b in probectl httpserve tcpsink; do
	[ -x "$TOOLS/$b" ] || { fail "missing $TOOLS/$b (make tools)"; finish; }
done
command -v openssl >/dev/null || { fail "missing openssl (scripts/install-deps.sh)"; finish; }
topo_up
servers_up
in_client sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# run_probe ARGS...: probectl in the client ns; $OUT (its line) and $RC.
run_probe() {
	OUT=$(in_client "$TOOLS/probectl" "$@" 2>&1)
	RC=$?
}

# expect_probe STATUS NEEDLE ARGS...: the probe ends in STATUS and its line
# holds NEEDLE ("" for any).
expect_probe() {
	local want=$1 needle=$2
	shift 2
	run_probe "$@"
	if [ "${OUT%% *}" = "$want" ] && [[ "$OUT" == *"$needle"* ]]; then
		pass "probe $* -> $OUT"
	else
		fail "probe $* should be $want${needle:+ with '$needle'}, got: $OUT (exit $RC)"
	fi
}

# ms_of LINE: the elapsed milliseconds of a probectl line.
ms_of() { awk '{ print $2 }' <<<"$1"; }

# ---- tcp -------------------------------------------------------------------------
expect_probe pass "" $S4:8001
expect_probe pass "" "[$S6]:8001"
expect_probe fail "connect: Connection refused" $S4:8099
assert_eq 1 "$RC" "a failed probe exits 1"
in_server nft -f - <<EOF
table inet probetest {
	chain in {
		type filter hook input priority 0;
		tcp dport 8011 drop
		ip daddr $H4 icmp type echo-request drop
	}
}
EOF
expect_probe fail "timeout after 300 ms" --timeout 300 $S4:8011
ms=$(ms_of "$OUT")
if lt "$ms" 290 || lt 600 "$ms"; then
	fail "the dropped connect should end at its deadline (300 ms), took $ms ms"
else
	pass "the dropped connect ends at its deadline ($ms ms)"
fi

# ---- http ------------------------------------------------------------------------
bg_server http "$TOOLS/httpserve" --name H --vhost svc.test --ready-file "$TMP/http.ready" \
	"$S4:8080" "[$S6]:8080"
wait_until 3000 test -e "$TMP/http.ready" || { fail "httpserve did not start"; finish; }
expect_probe pass "http 200" --type http $S4:8080
expect_probe pass "http 200" --type http "[$S6]:8080"
assert_contains "$OUT" "first byte" "an http result carries its timings"
expect_probe fail "http 500" --type http --path /status/500 $S4:8080
expect_probe pass "" --type tcp $S4:8080 # the port itself is open
expect_probe pass "http 500" --type http --path /status/500 --expect 500-599 $S4:8080
expect_probe pass "http 301" --type http --path /status/301 $S4:8080
expect_probe fail "http 404" --type http --path /status/404 $S4:8080
expect_probe fail "http 301" --type http --path /status/301 --expect 200-299,302 $S4:8080
expect_probe pass "http 200" --type http --path /vhost --host svc.test $S4:8080
expect_probe fail "http 421" --type http --path /vhost --host other.test $S4:8080
expect_probe fail "http 421" --type http --path /vhost $S4:8080
expect_probe pass "http 200" --type http --path /vhost --host svc.test "[$S6]:8080"
expect_probe fail "timeout after 500 ms" --type http --path /slow --timeout 500 $S4:8080
expect_probe fail "http: " --type http --path /close $S4:8080
expect_probe fail "connect: Connection refused" --type http $S4:8099
run_probe --type http --path "no-slash" $S4:8080
assert_eq 3 "$RC" "a path without '/' is refused at the start" "$OUT"
run_probe --json --type http --path /status/503 $S4:8080
assert_eq "fail 503 http 503" "$(jq -r '.status + " " + (.http_status|tostring) + " " + .reason' <<<"$OUT")" \
	"--json gives the status, the http status and the reason" "$OUT"

# ---- https: a self-signed server ---------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=svc.test -addext "subjectAltName=DNS:svc.test,IP:$S4" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 ||
	fail "openssl could not make a certificate"
bg_server tls openssl s_server -quiet -www -accept "$S4:8443" -cert "$TMP/cert.pem" \
	-key "$TMP/key.pem"
wait_until 3000 in_client "$TOOLS/probectl" $S4:8443 || fail "openssl s_server did not start"
expect_probe fail "tls: SSL certificate problem" --type https $S4:8443
expect_probe pass "http 200" --type https --ca-file "$TMP/cert.pem" $S4:8443
assert_contains "$OUT" "tls " "an https result times the handshake"
expect_probe pass "http 200" --type https --ca-file "$TMP/cert.pem" --host svc.test $S4:8443
expect_probe fail "tls: " --type https --ca-file "$TMP/cert.pem" --host other.test $S4:8443
expect_probe pass "http 200" --type https --insecure $S4:8443
expect_probe neutral "https: " --type https --ca-file "$TMP/missing.pem" $S4:8443

# ---- icmp ------------------------------------------------------------------------
expect_probe pass "" --type icmp $S4
expect_probe pass "" --type icmp $S6
expect_probe fail "timeout after 300 ms" --type icmp --timeout 300 $H4 # dropped there
expect_probe fail "" --type icmp --timeout 300 10.77.0.99              # nobody there
# no ping socket for our group: the raw socket (CAP_NET_RAW) takes over
in_client sysctl -qw net.ipv4.ping_group_range="1 0"
expect_probe pass "" --type icmp $S4
expect_probe pass "" --type icmp $S6
expect_probe fail "timeout after 300 ms" --type icmp --timeout 300 $H4 # dropped there
expect_probe fail "" --type icmp --timeout 300 10.77.0.99
# and without CAP_NET_RAW either: neutral, naming both
if command -v setpriv >/dev/null; then
	OUT=$(in_client setpriv --bounding-set -net_raw --inh-caps -net_raw \
		"$TOOLS/probectl" --type icmp $S4 2>&1)
	RC=$?
	if [ "${OUT%% *}" = neutral ] && [[ "$OUT" == *ping_group_range*"raw socket: "* ]]; then
		pass "no ping socket and no CAP_NET_RAW: $OUT"
	else
		fail "no ping socket and no CAP_NET_RAW should be neutral naming both, got: $OUT"
	fi
	assert_eq 2 "$RC" "a neutral probe exits 2"
else
	log "setpriv is missing: the icmp probe without CAP_NET_RAW is not tested"
fi
in_client sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# ---- exec ------------------------------------------------------------------------
expect_probe pass "" --type exec -- true
expect_probe fail "exit 2: broken here" --type exec -- sh -c 'echo broken here; exit 2'
expect_probe fail "killed by signal 15" --type exec -- sh -c 'kill -TERM $$'
run_probe --type exec --target $S4:8001 -- sh -c 'echo "$ISOL_PROBE_ADDR $ISOL_PROBE_PORT $ISOL_PROBE_MARK"; exit 1'
assert_contains "$OUT" "exit 1: $S4 8001 0x69736f6c" "exec gets the target and the mark in its environment"
# the deadline kills the whole group: the grandchild too
expect_probe fail "timeout after 300 ms (process group killed)" --timeout 300 --type exec -- \
	sh -c "sleep 60 & echo \$! > $TMP/grandchild; sleep 60"
gc=$(cat "$TMP/grandchild" 2>/dev/null)
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
if [ -n "$gc" ] && wait_until 1000 gone "$gc"; then
	pass "the grandchild ($gc) is dead"
else
	fail "the grandchild '${gc:-?}' survived the timeout" "$(ps -o pid,pgid,stat,cmd -p "${gc:-1}")"
fi
expect_probe neutral "No such file or directory" --type exec -- /nonexistent/check

# ---- failures of this host are neutral -------------------------------------------------
OUT=$(unshare -n "$TOOLS/probectl" $S4:8001 2>&1)
assert_contains "$OUT" "neutral" "no route from here is neutral ($OUT)"
assert_contains "$OUT" "Network is unreachable" "and says why"
OUT=$(unshare -n "$TOOLS/probectl" --type http $S4:8080 2>&1)
assert_contains "$OUT" "neutral" "http: no route from here is neutral ($OUT)"
for t in "tcp $S4:8001" "http $S4:8080" "icmp $S4" "exec --target $S4:8001 -- true"; do
	# shellcheck disable=SC2086
	expect_probe neutral "Too many open files" --exhaust-fds --type $t
done

# ---- the one-shot diagnosis ------------------------------------------------------------
OUT=$(in_client "$TOOLS/probectl" --diagnose $S4:8080 2>&1)
assert_eq 3 "$(grep -cE '^(icmp|tcp|http) +pass ' <<<"$OUT")" "diagnosis: icmp, tcp and http pass" "$OUT"
OUT=$(in_client "$TOOLS/probectl" --diagnose --timeout 300 $S4:8099 2>&1)
assert_contains "$OUT" "Connection refused" "diagnosis of a closed port" 

# ---- many at once ------------------------------------------------------------------------
# every address of 10.78.0.0/16 answers in the server ns (a local route);
# one listener accepts and closes
ip -n "$NSS" route add local 10.78.0.0/16 dev lo
ip -n "$NSC" route add 10.78.0.0/16 via $S4
bg_server sink "$TOOLS/tcpsink" --ready-file "$TMP/sink.ready" 0.0.0.0:7000
wait_until 3000 test -e "$TMP/sink.ready" || fail "tcpsink did not start"
OUT=$(in_client "$TOOLS/probectl" --bench 1000 --interval 1000 --warmup 1 --duration 2 \
	10.78.0.1:7000 2>&1)
if [[ "$OUT" == *" fail 0 neutral 0 skipped 0 refused 0"* ]] && [[ "$OUT" != *" pass 0 "* ]]; then
	pass "1000 tcp probes a second, every one passes"
else
	fail "1000 tcp probes a second" "$OUT"
fi
log "$(tr '\n' ';' <<<"$OUT")"
if [ -n "${PROBE_BENCH:-}" ]; then
	OUT=$(in_client "$TOOLS/probectl" --bench "$PROBE_BENCH" --interval 1000 --warmup 3 \
		--duration "${PROBE_BENCH_SECONDS:-10}" 10.78.0.1:7000 2>&1)
	echo "$OUT"
	if [[ "$OUT" == *" fail 0 neutral 0 "* ]]; then
		pass "bench: $PROBE_BENCH targets, no failure"
	else
		fail "bench: $PROBE_BENCH targets" "$OUT"
	fi
fi

# ---- probes see the real target, not isol's own rules ------------------------------------
# a policy whose exec probe connects to a target that the cli isolates
POL=$TMP/policies
mkdir -p "$POL"
cat >"$POL/exec.yaml" <<EOF
name: viaexec
targets: [$S4:8004, $H4:8004]
probe: { type: exec, command: [$TOOLS/tcpcheck, --timeout, "300", "$S4:8004"], interval: 300ms,
         fast_interval: 300ms, timeout: 300ms, fall: 2, rise: 2 }
action: { kind: isolate, ttl: 1m }
EOF
start_agent --policies "$POL" || finish
health_of() { # TARGET FIELD: a field of the target of policy viaexec in `isolctl health`
	ctl --json health | jq -r --arg t "$1" --arg f "$2" \
		'.targets[] | select(.policy == "viaexec" and .target == $t) | .[$f]'
}
# the agent's icmp probes share one raw socket per family: one answered
# while another waits for a host that is not there
in_client sysctl -qw net.ipv4.ping_group_range="1 0"
ctl probe 10.77.0.99:8001 --type icmp >"$TMP/slowping.out" 2>&1 &
slow=$!
sleep 0.2
run_ctl probe $S4:8001 --type icmp
assert_contains "$OUT" "icmp  pass" "raw: a ping answered while another waits ($OUT)"
run_ctl probe "[$S6]:8001" --type icmp
assert_contains "$OUT" "icmp  pass" "raw: and over IPv6 ($OUT)"
wait "$slow"
assert_contains "$(cat "$TMP/slowping.out")" "icmp  fail" \
	"raw: the ping nobody answers fails ($(cat "$TMP/slowping.out"))"
in_client sysctl -qw net.ipv4.ping_group_range="0 2147483647"

iso=$(isolate_id $S4:8002)
assert_refused_fast $S4 8002
expect_probe pass "" $S4:8002
expect_probe fail "Connection refused" --mark 0 $S4:8002 # without the mark: our own rule

# exec: the command's sockets carry no mark; it runs in the exec probes'
# cgroup, which the table exempts too (probectl is in the agent's cgroup, so
# it finds the same one)
t=$(nft_table)
assert_contains "$t" "socket cgroupv2 level" "the table exempts the exec probes' cgroup"
expect_probe pass "" --type exec -- "$TOOLS/tcpcheck" --timeout 300 $S4:8002
expect_probe fail "exit 1: refused" --mark 0 --type exec -- "$TOOLS/tcpcheck" --timeout 300 $S4:8002
expect_probe fail "exit 1: 0::/" --type exec -- sh -c 'grep ^0:: /proc/self/cgroup; exit 1'
assert_contains "$OUT" "/isol-probes" "the command runs in the cgroup isol-probes"
# the result is the real target's: it drops 8011 (its own firewall), while
# our isolation refuses at once
iso11=$(isolate_id $S4:8011)
assert_refused_fast $S4 8011
expect_probe fail "exit 2: timeout" --type exec -- "$TOOLS/tcpcheck" --timeout 300 $S4:8011
assert_ctl 0 rollback "$iso11"
# the agent's own exec probe, from its policy: the target stays up
iso4=$(isolate_id $S4:8004)
assert_refused_fast $S4 8004
sleep 1.5
assert_eq "up pass 0" \
	"$(health_of $S4:8004/tcp state) $(health_of $S4:8004/tcp last) $(health_of $S4:8004/tcp fails)" \
	"the agent's exec probe passes through the isolation" "$(ctl health 2>&1)"
assert_eq 0 "$(list_json | jq '[.[] | select(.origin == "policy:viaexec")] | length')" \
	"and its policy did not act"
assert_ctl 0 rollback "$iso4"
# the replies: an isolation of this host's own address (inbound) rejects
# them, but not those to an exec probe's socket
isoc=$(isolate_id $C4 --direction in)
probe_tcp --timeout 300 $S4 8001
assert_ne "ok" "${PROBE%% *}" "with our own address isolated inbound, a plain connect fails ($PROBE)"
expect_probe pass "" --type exec -- "$TOOLS/tcpcheck" --timeout 300 $S4:8001
# nor those to a marked probe's socket (socket mark, on input)
expect_probe pass "" --timeout 300 $S4:8001
expect_probe pass "http 200" --type http --timeout 300 $S4:8080
expect_probe fail "" --mark 0 --timeout 300 $S4:8001
assert_ctl 0 rollback "$isoc"
isoh=$(isolate_id $S4:8080)
expect_probe pass "http 200" --type http $S4:8080
expect_probe fail "" --type http --mark 0 $S4:8080
assert_ctl 0 rollback "$isoh"
isoi=$(isolate_id $H6)
expect_probe pass "" --type icmp $H6
expect_probe pass "" "[$H6]:8001"
run_probe --type icmp --mark 0 $H6
assert_ne pass "${OUT%% *}" "without the mark the isolation stops the ping ($OUT)"
expect_probe pass "" --type exec -- "$TOOLS/tcpcheck" --timeout 300 "[$H6]:8001"
expect_probe fail "exit 1: refused" --mark 0 --type exec -- "$TOOLS/tcpcheck" --timeout 300 "[$H6]:8001"
# the raw icmp socket carries the mark too
in_client sysctl -qw net.ipv4.ping_group_range="1 0"
expect_probe pass "" --type icmp $H6
run_probe --type icmp --mark 0 $H6
assert_ne pass "${OUT%% *}" "raw: without the mark the isolation stops the ping ($OUT)"
in_client sysctl -qw net.ipv4.ping_group_range="0 2147483647"
assert_ctl 0 rollback "$isoi"
# steered to B: clients get B, the probe still sees that nobody listens on A
st=$(ctl --json steer $S4:8099 --to $H4:8001 | jq -r '.action.id')
assert_ok $S4 8099 B
expect_probe fail "Connection refused" $S4:8099
expect_probe fail "exit 1: refused" --type exec -- "$TOOLS/tcpcheck" --timeout 300 $S4:8099
# and where A does listen: clients get B, an exec probe gets A
st5=$(ctl --json steer $S4:8005 --to $H4:8005 | jq -r '.action.id')
assert_ok $S4 8005 B
expect_probe fail "exit 1: ok A" --type exec -- sh -c "$TOOLS/tcpcheck --timeout 300 $S4:8005; exit 1"
expect_probe fail "exit 1: ok B" --mark 0 --type exec -- \
	sh -c "$TOOLS/tcpcheck --timeout 300 $S4:8005; exit 1"
assert_ctl 0 rollback "$st5"
assert_ctl 0 rollback "$st"
assert_ctl 0 rollback "$iso"
finish
