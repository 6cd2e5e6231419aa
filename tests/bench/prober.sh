#!/usr/bin/env bash
# prober.sh - make bench, part 2: the health prober. Measured here, now:
#   - 10,000 tcp targets at a 1 s interval (servers in a namespace): the
#     prober's CPU time per second (goal under 25 % of one core);
#   - a target failing to the applied action: from the first failed probe to
#     the steer in the kernel (goal fall x fast_interval + 5 ms).
set -u
source "$(dirname "$0")/../netns/lib.sh"
need_root_and_tools
[ -x "$TOOLS/probectl" ] && [ -x "$TOOLS/tcpsink" ] || { echo "prober.sh: make tools first" >&2; exit 1; }
topo_up
FALL=3 FAST=200

# ---- 10,000 tcp targets: every address of 10.78.0.0/16 answers in the server ns
ip -n "$NSS" route add local 10.78.0.0/16 dev lo
ip -n "$NSC" route add 10.78.0.0/16 via $S4
bg_server sink "$TOOLS/tcpsink" --ready-file "$TMP/sink.ready" 0.0.0.0:7000
wait_until 3000 test -e "$TMP/sink.ready" || { echo "tcpsink did not start" >&2; exit 1; }
# Both ends are on this host, and the kernel runs a veth receiver's side in
# the sender's context: the servers' half of every handshake (SYN in,
# SYN-ACK out, the reset) would be charged to the prober. With remote
# servers it is not, so the goal figure keeps the prober on core 0 and hands
# packet receipt to core 1 (RPS on both veth ends); the all-on-one-core
# figure is printed beside it.
probe_bench() { # -> OUT, cpu
	OUT=$(in_client $PIN "$TOOLS/probectl" --bench 10000 --interval 1000 --warmup 2 \
		--duration 5 10.78.0.1:7000 2>&1)
	cpu=$(grep -oE '[0-9.]+ ?% of one core' <<<"$OUT" | head -n1 | grep -oE '^[0-9.]+')
}
rps() { # MASK: where both veth ends process received packets (0: where they arrive)
	local ns
	for ns in "$NSC" "$NSS"; do
		ip netns exec "$ns" sh -c "echo $1 >/sys/class/net/veth0/queues/rx-0/rps_cpus"
	done
}
PIN=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null && rps 2 2>/dev/null; then
	PIN="taskset -c 0"
	probe_bench
	OUT_APART=$OUT cpu_apart=$cpu
	rps 0
fi
PIN=
probe_bench
OUT_LOCAL=$OUT cpu_local=$cpu
if [ -n "${cpu_apart:-}" ]; then
	cpu=$cpu_apart OUT=$OUT_APART
	cpu_what="servers' side on another core"
else
	cpu=$cpu_local
	cpu_what="servers' side included (one core only)"
fi

# ---- failure to action: a policy, a primary that stops, the agent's own log
mkdir -p "$TMP/pol"
cat >"$TMP/pol/p.yaml" <<EOF
name: bench
targets: [$S4:7101, $H4:7101]
probe: { type: tcp, interval: 1s, fast_interval: ${FAST}ms, timeout: 150ms, fall: $FALL, rise: 2 }
action: { kind: steer, ttl: 10m }
hold: { base: 1s, max: 2s, observe: 1s }   # a failure right after a restore acts at once
EOF
bg_server prim "$TOOLS/tcpserve" --name primary --ready-file "$TMP/prim.ready" "$S4:7101"
PRIM=$BG_PID
bg_server back "$TOOLS/tcpserve" --name backup --ready-file "$TMP/back.ready" "$H4:7101"
wait_until 3000 test -e "$TMP/back.ready"
start_agent --policies "$TMP/pol" >/dev/null || exit 1
sleep 3 # the backup becomes ready
delays=()
for run in 1 2 3; do
	: >"$AGENT_LOG"
	stop_pid "$PRIM"
	wait_until 5000 bash -c "grep -q 'action .*: steer' '$AGENT_LOG'"
	first=$(grep -m1 'probe fail: ' "$AGENT_LOG" | cut -d' ' -f1)
	acted=$(grep -m1 'action .*: steer' "$AGENT_LOG" | cut -d' ' -f1)
	to_ms() { awk -F'[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }' <<<"$1"; }
	[ -n "$first" ] && [ -n "$acted" ] && delays+=($(($(to_ms "$acted") - $(to_ms "$first"))))
	bg_server "prim$run" "$TOOLS/tcpserve" --name primary --ready-file "$TMP/prim$run.ready" "$S4:7101"
	PRIM=$BG_PID
	wait_until 15000 bash -c "grep -q 'removed (policy' '$AGENT_LOG'"
	sleep 2.5 # past the observation window
done
goal=$((FALL * FAST + 5))
median=$(printf '%s\n' "${delays[@]}" | sort -n | sed -n "$(((${#delays[@]} + 1) / 2))p")

printf '\n== isol prober benchmarks ==\n'
printf '%-52s %10s  %-28s %s\n' figure isol goal result
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && a + 0 <= b + 0) ? "PASS" : "MISS" }'; }
printf '%-52s %9s%%  %-28s %s\n' "10,000 tcp targets at 1 s: prober CPU (one core)" "${cpu:-?}" "<= 25 %" "$(verdict "${cpu:-}" 25)"
printf '   (%s; with the servers'"'"' half of each handshake charged to it too: %s %%)\n' \
	"$cpu_what" "${cpu_local:-?}"
printf '%-52s %8s ms  %-28s %s\n' "first failed probe -> steer applied (median of ${#delays[@]})" "${median:-?}" "<= fall x fast + 5 = $goal ms" "$(verdict "${median:-}" $goal)"
printf 'details: probectl: %s\n' "$(tr '\n' ' ' <<<"$OUT")"
[ -n "${cpu_apart:-}" ] && printf 'details: probectl, all on one core: %s\n' "$(tr '\n' ' ' <<<"$OUT_LOCAL")"
printf 'details: failure-to-action runs (ms): %s\n' "${delays[*]:-none}"
# figures, not checks: exit 0 when they were measured (cleanup runs on exit)
[ -n "${cpu:-}" ] && [ -n "${median:-}" ]
exit $?
