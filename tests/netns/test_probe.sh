#!/usr/bin/env bash
# test_probe.sh - the probes against real servers in a namespace (driven by
# tests/tools/probectl, which links the agent's probe module): tcp pass,
# refused, dropped; http status ranges on an open port, Host header, timeout;
# https certificate checks (a self-signed server fails by default); icmp;
# exec with a deadline that kills the whole process group; failures of this
# host (no route, no file descriptors, ping sockets not allowed, no such
# command) are neutral; a load check of many tcp probes at once; and probes
# that carry the mark see the real target through isol's own isolation and
# steering.
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
in_client sysctl -qw net.ipv4.ping_group_range="1 0"
expect_probe neutral "ping_group_range" --type icmp $S4
assert_eq 2 "$RC" "a neutral probe exits 2"
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
start_agent || finish
iso=$(isolate_id $S4:8002)
assert_refused_fast $S4 8002
expect_probe pass "" $S4:8002
expect_probe fail "Connection refused" --mark 0 $S4:8002 # without the mark: our own rule
isoh=$(isolate_id $S4:8080)
expect_probe pass "http 200" --type http $S4:8080
expect_probe fail "" --type http --mark 0 $S4:8080
assert_ctl 0 rollback "$isoh"
isoi=$(isolate_id $H6)
expect_probe pass "" --type icmp $H6
expect_probe pass "" "[$H6]:8001"
run_probe --type icmp --mark 0 $H6
assert_ne pass "${OUT%% *}" "without the mark the isolation stops the ping ($OUT)"
assert_ctl 0 rollback "$isoi"
# steered to B: clients get B, the probe still sees that nobody listens on A
st=$(ctl --json steer $S4:8099 --to $H4:8001 | jq -r '.action.id')
assert_ok $S4 8099 B
expect_probe fail "Connection refused" $S4:8099
assert_ctl 0 rollback "$st"
assert_ctl 0 rollback "$iso"
finish
