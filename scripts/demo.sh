#!/usr/bin/env bash
# demo.sh - `make demo`: isol on a real kernel, in two private network
# namespaces that are gone when it ends. A "rabbitmq" (a small TCP server on
# 10.77.0.2:5672) gets stuck; isolctl isolates it so its callers fail in a
# fraction of a millisecond instead of hanging; steers its callers to a
# backup broker, pins its hostname to the backup, and rolls everything back.
# Every command is printed as it is run, followed by its real output.
set -u
source "$(dirname "$0")/../tests/netns/lib.sh"

if [ -t 1 ]; then
	B=$'\e[1m' CMD=$'\e[36m' HI=$'\e[33m' OK=$'\e[32m' BAD=$'\e[31m' OFF=$'\e[0m'
else
	B='' CMD='' HI='' OK='' BAD='' OFF=''
fi

step() { printf '\n%s== %s%s\n' "$B" "$*" "$OFF"; }
say() { printf '%s\n' "$*"; }
die() {
	printf '%sdemo failed: %s%s\n' "$BAD" "$*" "$OFF" >&2
	exit 1
}

# show LABEL CMD...: print "$ LABEL", run CMD, print its output; $OUT, $RC, $MS.
show() {
	local label=$1 t0
	shift
	printf '%s$ %s%s\n' "$CMD" "$label" "$OFF"
	t0=$(now_us)
	OUT=$("$@" 2>&1)
	RC=$?
	MS=$(awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
	[ -n "$OUT" ] && printf '%s\n' "$OUT"
	return 0
}

isolctl() { ctl "$@"; }
tcpcheck() { in_client "$TOOLS/tcpcheck" --timeout 2000 "$@"; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, nftables)"
for b in "$AGENT_BIN" "$CTL_BIN" "$TOOLS/tcpserve" "$TOOLS/tcpcheck"; do
	[ -x "$b" ] || die "$b is missing: run 'make all tools' (or 'make demo')"
done

step "A private network: two namespaces joined by a veth pair"
topo_up
say "  client ns $NSC: 10.77.0.1 (this host: the agent and the callers)"
say "  server ns $NSS: 10.77.0.2 rabbitmq:5672, 10.77.0.3 postgres:5432 and rabbitmq-backup:5672"
bg_server rabbitmq "$TOOLS/tcpserve" --name rabbitmq --ready-file "$TMP/rabbitmq.ready" "$S4:5672"
RABBIT_PID=$BG_PID
bg_server postgres "$TOOLS/tcpserve" --name postgres --ready-file "$TMP/postgres.ready" "$H4:5432"
bg_server backup "$TOOLS/tcpserve" --name rabbitmq-backup --ready-file "$TMP/backup.ready" "$H4:5672"
wait_until 3000 test -e "$TMP/backup.ready" || die "the backup did not start: $(cat "$TMP/backup.out")"
bg_server payments "$TOOLS/tcpserve" --name payments --ready-file "$TMP/payments.ready" "$S4:8443"
PAY_PID=$BG_PID
bg_server payments2 "$TOOLS/tcpserve" --name payments-standby --ready-file "$TMP/payments2.ready" "$H4:8443"
wait_until 3000 test -e "$TMP/payments.ready" || die "payments did not start"
mkdir -p "$TMP/policies"
cat >"$TMP/policies/payments.yaml" <<EOF
# payments: steer its callers to the standby when it stops answering
name: payments
targets: [10.77.0.2:8443, 10.77.0.3:8443]   # primary, then the standby
probe: { type: tcp, interval: 1s, fast_interval: 200ms, timeout: 300ms, fall: 3, rise: 2 }
action: { kind: steer, ttl: 10m }
hold: { base: 2s, max: 60s }
EOF
HOSTS=$TMP/hosts
printf '127.0.0.1\tlocalhost\n10.77.0.2\tmq.internal   # the broker\n' >"$HOSTS"
cp "$HOSTS" "$TMP/hosts.orig"
# resolve NAME: the system resolver (getent), with the demo's file as /etc/hosts
resolve() {
	unshare -m sh -c "mount --bind '$HOSTS' /etc/hosts && getent hosts '$1'"
}
wait_until 3000 test -e "$TMP/rabbitmq.ready" || die "rabbitmq did not start: $(cat "$TMP/rabbitmq.out")"
wait_until 3000 test -e "$TMP/postgres.ready" || die "postgres did not start: $(cat "$TMP/postgres.out")"
FAIL=0
start_agent --hosts-file "$HOSTS" --policies "$TMP/policies" >/dev/null || die "the agent did not start: $(tail -n 5 "$AGENT_LOG")"
say "  isolagent running (pid $AGENT_PID), socket $SOCK"

step "rabbitmq answers (tcpcheck connects and reads the server's banner)"
show "tcpcheck 10.77.0.2:5672" tcpcheck "$S4:5672"
[ "${OUT%% *}" = ok ] || die "rabbitmq should answer"

step "Incident: rabbitmq is stuck (we freeze it with SIGSTOP): its callers hang"
kill -STOP "$RABBIT_PID"
show "tcpcheck 10.77.0.2:5672" tcpcheck "$S4:5672"
[ "${OUT%% *}" = timeout ] || die "a stuck rabbitmq should make callers wait"
say "${HI}-> the caller waited ${OUT##* } ms for nothing; a real client holds threads and retries$OFF"

step "Isolate it, so its callers fail fast instead of piling up"
show 'isolctl isolate 10.77.0.2:5672 --ttl 10m --reason "rabbitmq stuck"' \
	isolctl isolate "$S4:5672" --ttl 10m --reason "rabbitmq stuck"
[ "$RC" = 0 ] || die "isolctl isolate exited $RC"
say "${HI}(isolctl took $MS ms; the kernel rule is in place when it returns)$OFF"
show "tcpcheck 10.77.0.2:5672" tcpcheck "$S4:5672"
[ "${OUT%% *}" = refused ] || die "rabbitmq should now be refused"
say "${HI}-> connection refused after ${OUT##* } ms: the caller knows at once and can fall back$OFF"
show "tcpcheck 10.77.0.3:5432" tcpcheck "$H4:5432"
[ "${OUT%% *}" = ok ] || die "postgres should be unaffected"
say "${HI}-> postgres, on another host, is not affected$OFF"

step "What is isolated, and how many packets it has stopped"
show "isolctl list" isolctl list
[ "$RC" = 0 ] || die "isolctl list exited $RC"
say "${HI}-> HITS: the connection attempts the kernel refused for this action$OFF"
show "nft list table inet isol   (the kernel's view: one element per action)" \
	bash -c "nsenter --net=/run/netns/$NSC nft list table inet isol | grep -B1 -A2 'elements'"

step "Bypass: steer new connections for rabbitmq to its backup (nftables DNAT)"
show 'isolctl steer 10.77.0.2:5672 --to 10.77.0.3 --ttl 30m --reason "failover to backup"' \
	isolctl steer "$S4:5672" --to "$H4" --ttl 30m --reason "failover to backup"
[ "$RC" = 0 ] || die "isolctl steer exited $RC"
say "${HI}(the agent first checked that the backup answers; isolctl took $MS ms)$OFF"
show "tcpcheck 10.77.0.2:5672" tcpcheck "$S4:5672"
[ "${OUT#ok rabbitmq-backup}" != "$OUT" ] || die "callers should reach the backup"
say "${HI}-> callers of 10.77.0.2:5672 are answered by rabbitmq-backup, without a config change$OFF"
show "isolctl steer 10.77.0.2:5673 --to 10.77.0.3:5999   (a backup that does not answer)" \
	isolctl steer "$S4:5673" --to "$H4:5999"
[ "$RC" = 1 ] || die "a steer to a dead backup should be refused"
say "${HI}-> refused, nothing changed: isol never steers to a backup that is not there$OFF"

step "Pin the broker's name to the backup (isol's block of the hosts file)"
show "getent hosts mq.internal" resolve mq.internal
show 'isolctl pin mq.internal 10.77.0.3 --check-port 5672 --ttl 30m' \
	isolctl pin mq.internal "$H4" --check-port 5672 --ttl 30m
[ "$RC" = 0 ] || die "isolctl pin exited $RC"
show "getent hosts mq.internal" resolve mq.internal
[ "${OUT%% *}" = "$H4" ] || die "mq.internal should resolve to the backup"
show "cat hosts   (everything outside the isol block is kept byte for byte)" cat "$HOSTS"

step "Every action in one list: kind, target, where to, TTL, hits"
show "isolctl list" isolctl list

step "The broker is back: roll everything back"
kill -CONT "$RABBIT_PID"
show "isolctl rollback --all" isolctl rollback --all
[ "$RC" = 0 ] || die "isolctl rollback exited $RC"
show "tcpcheck 10.77.0.2:5672" tcpcheck "$S4:5672"
[ "${OUT#ok rabbitmq }" != "$OUT" ] || die "rabbitmq itself should answer again"
show "getent hosts mq.internal" resolve mq.internal
[ "${OUT%% *}" = "$S4" ] || die "mq.internal should resolve to the broker again"
if cmp -s "$HOSTS" "$TMP/hosts.orig"; then
	say "${HI}-> the hosts file is byte for byte what it was$OFF"
else
	die "the hosts file differs from the original"
fi
show "isolctl list" isolctl list
say "${HI}-> restored; without the rollback each action would have expired by itself$OFF"

step "Nobody awake: a policy watches payments and fails over by itself"
show "cat payments.yaml" cat "$TMP/policies/payments.yaml"
standby_up() { [ "$(ctl --json health | jq -r '[.targets[].state] | join(" ")')" = "up up" ]; }
wait_until 5000 standby_up || die "the policy's targets are not up: $(ctl health)"
show "isolctl health" isolctl health
show "tcpcheck 10.77.0.2:8443" tcpcheck "$S4:8443"
say "${HI}-> payments answers; its standby is probed too, and ready$OFF"
kill "$PAY_PID"
T0=$(now_ms)
say "${HI}(payments is stopped now)$OFF"
while :; do
	OUT=$(tcpcheck "$S4:8443" 2>&1)
	[[ "$OUT" == "ok payments-standby"* ]] && break
	[ $(($(now_ms) - T0)) -gt 5000 ] && die "no automatic failover within 5 s: $OUT"
	sleep 0.05
done
say "${HI}-> callers of 10.77.0.2:8443 reach the standby $(($(now_ms) - T0)) ms after payments stopped, and nobody typed a thing$OFF"
show "isolctl list" isolctl list
show "isolctl health" isolctl health
bg_server payments3 "$TOOLS/tcpserve" --name payments --ready-file "$TMP/payments3.ready" "$S4:8443"
T0=$(now_ms)
say "${HI}(payments is started again)$OFF"
while :; do
	OUT=$(tcpcheck "$S4:8443" 2>&1)
	[[ "$OUT" == "ok payments "* ]] && break
	[ $(($(now_ms) - T0)) -gt 15000 ] && die "no automatic restore within 15 s: $OUT"
	sleep 0.1
done
say "${HI}-> traffic is back on payments $(($(now_ms) - T0)) ms after it came back (2 good probes after a 2 s hold-down)$OFF"
show "isolctl list" isolctl list

step "The morning after: what happened, who did what, for how long, what it stopped"
show "isolctl report --since 1h" isolctl report --since 1h
say "${HI}-> every action and health change was an event too: isolctl watch streams them, isolagent --notify hands them to a pager$OFF"

step "Done"
say "${OK}isol demo finished: isolate -> steer to the backup -> pin the name -> roll back -> automatic failover and restore -> the incident's report.$OFF"
say "Namespaces, processes and files are removed on exit."
exit 0
