#!/usr/bin/env bash
# test_events.sh - the event stream, on real traffic: `isolctl watch` sees
# actions applied (with who did them), refused and removed (with the packets
# they stopped), health changes of a real service that stops, escalations;
# the notification command gets each event on its stdin; `isolctl report`
# tells the story from the events file, across a kill -9 of the agent; bad
# words and wire requests are refused.
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up

# a notification command that appends what it got
NOTIFIED=$TMP/notified
cat >"$TMP/notify.sh" <<EOF
#!/bin/sh
{ printf 'ENV %s|%s\n' "\$ISOL_EVENT_TYPE" "\$ISOL_EVENT_MESSAGE"; cat; echo; } >>"$NOTIFIED"
EOF
chmod +x "$TMP/notify.sh"

# a policy on a service this test stops
POL=$TMP/policies
mkdir -p "$POL"
cat >"$POL/svc.yaml" <<EOF
name: svc
targets: [$S4:7301, $H4:7301]
probe: { type: tcp, interval: 1s, fast_interval: 200ms, timeout: 300ms, fall: 3, rise: 2 }
action: { kind: isolate, ttl: 1m }
hold: { base: 30s, max: 60s }
EOF
bg_server svc "$TOOLS/tcpserve" --name P --ready-file "$TMP/svc.ready" "$S4:7301"
SVC=$BG_PID
bg_server svcb "$TOOLS/tcpserve" --name B --ready-file "$TMP/svcb.ready" "$H4:7301"
wait_until 3000 test -e "$TMP/svc.ready" || fail "the policy's service did not start"

start_agent --notify "$TMP/notify.sh" --escalate-after 1s --policies "$POL" || finish

# ---- watch ------------------------------------------------------------------------------
bg_client watch "$CTL_BIN" --socket "$SOCK" --json watch --backlog 50
WATCH_PID=$BG_PID
WATCH_OUT=$TMP/watch.out
# bg_client writes the program's output to $TMP/NAME.out
wait_until 3000 grep -q '"type":"agent"' "$WATCH_OUT" ||
	fail "watch --backlog shows the agent's start" "$(cat "$WATCH_OUT")"

events() { # TYPE: the events of TYPE seen by the watcher so far, one JSON object per line
	grep -F "\"type\":\"$1\"" "$WATCH_OUT"
}

id=$(isolate_id $S4:8001 --reason "events test")
wait_until 2000 bash -c "grep -q '\"type\":\"applied\"' '$WATCH_OUT'" ||
	fail "an isolation reaches the watcher" "$(cat "$WATCH_OUT")"
ev=$(events applied | tail -n 1)
assert_eq "$id" "$(jq -r '.actions[0].id' <<<"$ev")" "the applied event names the action"
assert_eq "root" "$(jq -r '.actor.user' <<<"$ev")" "and who did it"
assert_eq "events test" "$(jq -r '.actions[0].reason' <<<"$ev")" "and why"
assert_contains "$(jq -r .message <<<"$ev")" "isolated $S4:8001/tcp" "its message is a sentence"

# traffic it stops, so the removal can say how much
assert_refused_fast $S4 8001
assert_refused_fast $S4 8001
run_ctl isolate 127.0.0.1:80
assert_eq 1 "$RC" "a protected target is refused" "$OUT"
wait_until 2000 bash -c "grep -q '\"type\":\"refused\"' '$WATCH_OUT'" ||
	fail "the refusal reaches the watcher"
assert_contains "$(events refused | tail -n 1 | jq -r .error)" "protected" \
	"the refused event says why"

# ---- escalation: still in force after 1 s ------------------------------------------------
wait_until 3000 bash -c "grep -q '\"type\":\"escalation\"' '$WATCH_OUT'" ||
	fail "an action in force past --escalate-after raises an escalation"
assert_eq "$id" "$(events escalation | head -n 1 | jq -r '.actions[0].id')" \
	"the escalation names the action"
sleep 0.5
assert_eq 1 "$(events escalation | grep -c "\"id\":$id,")" "an action escalates once"

assert_ctl 0 rollback "$id"
wait_until 2000 bash -c "grep -q '\"type\":\"removed\"' '$WATCH_OUT'" ||
	fail "the rollback reaches the watcher"
ev=$(events removed | tail -n 1)
assert_eq "rollback" "$(jq -r .why <<<"$ev")" "the removed event says how"
packets=$(jq -r '.actions[0].packets' <<<"$ev")
lt 0 "${packets:-0}" && pass "the removed event counts what it stopped ($packets packets)" ||
	fail "the removed event should count the stopped packets" "$ev"

# ---- health: the policy's service stops -----------------------------------------------------
stop_pid "$SVC"
wait_until 4000 bash -c "grep -q '\"type\":\"health\".*\"to\":\"suspect\"' '$WATCH_OUT'" ||
	fail "a failing probe is a health event" "$(events health)"
ev=$(events health | grep '"to":"suspect"' | head -n 1)
assert_eq "$S4:7301/tcp" "$(jq -r .target <<<"$ev")" "the health event names the target"
assert_contains "$(jq -r .error <<<"$ev")" "refused" "and carries the probe's error"
wait_until 4000 bash -c "grep -q '\"origin\":\"policy:svc\"' '$WATCH_OUT'" ||
	fail "the policy's isolation is an applied event with its origin" "$(events applied)"

# ---- the notification command --------------------------------------------------------------
wait_until 3000 grep -q "ENV applied|isolated $S4:8001/tcp" "$NOTIFIED" ||
	fail "the notification command gets the event type and message" "$(cat "$NOTIFIED")"
assert_contains "$(cat "$NOTIFIED")" "\"type\":\"removed\"" "and the event's JSON on its stdin"

# ---- report, also across kill -9 -------------------------------------------------------
kill_agent
start_agent --policies "$POL" || finish
run_ctl --json report --since 1h
assert_eq 0 "$RC" "report answers" "$OUT"
assert_eq "$id" "$(jq -r '[.events[] | select(.type == "applied")][0].actions[0].id' <<<"$OUT")" \
	"the report has the events from before the kill -9"
seqs=$(jq -r '.events[].seq' <<<"$OUT")
assert_eq "$(sort -n <<<"$seqs" | uniq | wc -l)" "$(wc -l <<<"$seqs")" \
	"event numbers go on across the restart" "$seqs"
run_ctl report --since 1h
assert_contains "$OUT" "What was done" "the text report has the actions"
assert_contains "$OUT" "$S4:8001/tcp" "with the target"
assert_contains "$OUT" "rollback" "how it ended"
assert_contains "$OUT" "$S4:7301/tcp: up -> suspect" "and what failed"

# ---- bad words, bad wire requests: clear errors -------------------------------------------
run_ctl watch --backlog lots
assert_eq 2 "$RC" "watch --backlog lots is a usage error" "$OUT"
run_ctl watch --types applied,bogus
assert_eq 2 "$RC" "an unknown event type is a usage error" "$OUT"
run_ctl report --since yesterday
assert_eq 2 "$RC" "report --since yesterday is a usage error" "$OUT"
assert_contains "$OUT" "duration" "and says what it wants"
for req in '{"v":1,"op":"report"}' '{"v":1,"op":"report","since_ms":-5}' \
	'{"v":1,"op":"watch","backlog":"x"}'; do
	out=$(printf '%s\n' "$req" | "$TOOLS/unixio" --socket "$SOCK" --expect 1 --timeout 2000)
	assert_contains "$out" '"ok":false' "wire: $req is refused"
done

stop_pid "$WATCH_PID"
finish
