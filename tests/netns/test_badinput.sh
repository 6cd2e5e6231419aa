#!/usr/bin/env bash
# test_badinput.sh - bad input everywhere gets a clear error and changes
# nothing: CLI arguments (exit 2), raw bytes on the control socket (an error
# response or a closed connection, the agent serving others meanwhile), and
# peers that may not change state (exit 1).
source "$(dirname "$0")/lib.sh"
need_root_and_tools
topo_up
servers_up
start_agent || finish

# one action present, without a TTL (so the table text does not change by itself)
assert_ctl 0 isolate $S4:8001 --reason baseline
state_snapshot


# ---- CLI usage errors: exit 2, nothing changed ------------------------------------------------------
bad_args=(
	"isolate 10.77.0.300"
	"isolate 10.77.0.2:70000"
	"isolate 10.77.0.2:65536"
	"isolate 10.77.0.2:-1"
	"isolate 10.77.0.2:abc"
	"isolate 10.77.0.2:8010-8001"
	"isolate 10.77.0.2/33"
	"isolate 10.77.0.5/24"
	"isolate fd77::2/129"
	"isolate [fd77::2]:99999"
	"isolate [fd77::2"
	"isolate fd77::zz"
	"isolate 10.77.0.2:8001/icmp"
	"isolate 10.77.0.2:8001/tcp/udp"
	"isolate not-an-address"
	"isolate"
	"isolate 10.77.0.2:8002 10.77.0.3:8002"
	"isolate 10.77.0.2:8002 --bogus"
	"isolate 10.77.0.2:8002 --direction sideways"
	"isolate 10.77.0.2:8002 --direction"
	"isolate 10.77.0.2:8002 --mode maybe"
	"isolate 10.77.0.2:8002 --ttl"
	"isolate 10.77.0.2:8002 --ttl 0"
	"isolate 10.77.0.2:8002 --ttl soon"
	"frobnicate 10.77.0.2"
	"rollback"
	"rollback abc"
	"rollback -3"
	"rollback --sideways"
	"show"
	"show xyz"
	"restore"
	"apply"
	"list --bogus"
	"--no-such-option list"
)
for a in "${bad_args[@]}"; do
	# shellcheck disable=SC2086
	assert_ctl 2 $a
done
run_ctl
assert_eq 2 "$RC" "isolctl with no verb exits 2" "$OUT"
run_ctl isolate "10.77.0.2:8002" --reason "$(head -c 5000 /dev/zero | tr '\0' r)"
assert_eq 2 "$RC" "a 5000-character reason is a usage error" "$OUT"
assert_unchanged "after ${#bad_args[@]} bad command lines"

out=$("$CTL_BIN" --socket "$TMP/no-agent.sock" status 2>&1)
assert_eq 3 "$?" "isolctl against a socket with no agent exits 3" "$out"

# ---- raw bytes on the control socket ------------------------------------------------------------
# raw REQUEST-TEXT DESCRIPTION: the agent answers ok:false or closes, then still
# serves. With REQUEST-TEXT "-" the bytes come from stdin (for NULs).
raw() {
	local out first
	if [ "$1" = - ]; then
		out=$("$TOOLS/unixio" --socket "$SOCK" --expect 1 --timeout 2000)
	else
		out=$(printf '%s' "$1" | "$TOOLS/unixio" --socket "$SOCK" --expect 1 --timeout 2000)
	fi
	first=$(head -n1 <<<"$out")
	if { jq -e '.ok == false and (.error.code | type == "string") and (.error.message | type == "string")' \
		<<<"$first" >/dev/null 2>&1; } || [ "$first" = "#closed" ]; then
		pass "$2: $(cut -c1-100 <<<"$first")"
	else
		fail "$2: expected an error response or a closed connection" "$out"
	fi
	agent_ready
	check $? "$2: the agent still serves others"
}
raw $'{"v":1,"op":\n' "truncated JSON"
raw $'hello agent\n' "not JSON at all"
raw $'\x01\x02\xff\xfe\x80\n' "binary garbage"
raw $'[1,2,3]\n' "a JSON array"
raw $'"status"\n' "a JSON string"
raw $'{}\n' "an empty object"
raw $'{"v":1}\n' "no op"
raw $'{"v":1,"op":"frobnicate"}\n' "unknown op"
raw $'{"v":99,"op":"status"}\n' "unknown protocol version"
raw $'{"v":"1","op":"status"}\n' "version as a string"
raw $'{"v":1,"op":7}\n' "op as a number"
raw $'{"v":1,"op":"isolate"}\n' "isolate without target"
raw $'{"v":1,"op":"isolate","target":42}\n' "target as a number"
raw $'{"v":1,"op":"isolate","target":"10.77.0.2:70000"}\n' "port 70000 on the wire"
raw $'{"v":1,"op":"isolate","target":"10.77.0.2:8002","ttl_ms":-5}\n' "negative ttl_ms"
raw $'{"v":1,"op":"isolate","target":"10.77.0.2:8002","direction":"up"}\n' "bad direction on the wire"
raw $'{"v":1,"op":"isolate","target":"10.77.0.2:8002","mode":"explode"}\n' "bad mode on the wire"
raw $'{"v":1,"op":"rollback","id":-1}\n' "negative id"
raw $'{"v":1,"op":"rollback","id":"all"}\n' "id as a string"
raw $'{"v":1,"op":"show","id":1.5}\n' "fractional id"
raw $'{"v":1,"op":"apply","lines":"isolate 10.77.0.2:8002"}\n' "apply lines not an array"
raw $'{"v":1,"op":"apply","lines":["isolate 10.77.0.2:8002",5]}\n' "apply line not a string"
raw $'{"v":1,"op":"apply","text":["isolate 10.77.0.2:8002"]}\n' "apply text not a string"
raw $'{"v":1,"op":"apply","text":"isolate 10.77.0.2:8002\\n","lines":[]}\n' "apply with text and lines"
raw $'{"v":1,"op":"apply","text":"isolate 10.77.0.2:8002\\nisolate 10.77.0.2:8003\\u0000x\\n"}\n' \
	"apply text with a NUL in a line"
raw $'{"v":1,"op":"apply","text":"isolate 10.77.0.2:8002\\nisolate 10.77.0.2:99999\\n"}\n' \
	"apply text with a bad line 2"
raw $'{"v":1,"op":"apply","payload":-1}\n' "apply payload of -1 bytes"
raw $'{"v":1,"op":"apply","payload":"12"}\n' "apply payload as a string"
raw $'{"v":1,"op":"apply","payload":99999999999}\n' "apply payload over the request limit"
raw $'{"v":1,"op":"apply","payload":4,"text":"isolate 10.77.0.2:8002"}\n' \
	"apply with a payload and text"
raw - "apply payload with a NUL in a line" < <(printf '{"v":1,"op":"apply","payload":25}\nisolate 10.77.0.2:8002\0x\n')
# the payload's bytes are not a request: an apply and the request after it
out=$(printf '{"v":1,"op":"apply","dry_run":true,"payload":23}\nisolate 10.77.0.2:8002\n{"v":1,"op":"version"}\n' |
	"$TOOLS/unixio" --socket "$SOCK" --expect 2 --timeout 2000)
if jq -e '.ok == true' <<<"$(sed -n 1p <<<"$out")" >/dev/null 2>&1 &&
	jq -e '.ok == true and .version' <<<"$(sed -n 2p <<<"$out")" >/dev/null 2>&1; then
	pass "an apply's payload, then the next request on the same connection: two answers"
else
	fail "an apply's payload then a request should get two answers" "$out"
fi
# a payload refused (over the limit): what follows is not requests; one answer, then hang up
out=$(printf '{"v":1,"op":"apply","payload":99999999999}\n{"v":1,"op":"version"}\n' |
	"$TOOLS/unixio" --socket "$SOCK" --expect 2 --timeout 2000)
if jq -e '.ok == false' <<<"$(sed -n 1p <<<"$out")" >/dev/null 2>&1 &&
	[ "$(sed -n 2p <<<"$out")" = "#closed" ]; then
	pass "a refused payload: its error, then the connection closes (the bytes after it are not served)"
else
	fail "a refused payload should get one error and a hang-up" "$out"
fi
# a client that hangs up before its payload is in: nothing applied, agent serves on
before=$(list_ids)
printf '{"v":1,"op":"apply","payload":1000}\nisolate 10.77.0.2:8002\n' |
	"$TOOLS/unixio" --socket "$SOCK" --expect 0 --timeout 300 >/dev/null 2>&1
agent_ready
check $? "a client gone before its payload: the agent still serves others"
assert_eq "$before" "$(list_ids)" "a payload cut short applies nothing"
raw - "NUL inside a line" < <(printf '{"v":1,"op":"status"}\0{"v":1}\n')
# ($(...) drops the trailing newline: add it back)
raw "$(printf '{"v":1,"op":"isolate","target":"%s"}' "$(head -c 100000 /dev/zero | tr '\0' 1)")"$'\n' \
	"a 100 kB target"
raw "$(printf '{"v":1,"op":"status","x":%s1%s}' "$(printf '[%.0s' $(seq 5000))" \
	"$(printf ']%.0s' $(seq 5000))")"$'\n' "JSON nested 5000 deep"

# after an error the same connection either closes or keeps answering correctly
out=$(printf 'garbage\n{"v":1,"op":"version"}\n' | "$TOOLS/unixio" --socket "$SOCK" --expect 2)
second=$(sed -n 2p <<<"$out")
if [ "$second" = "#closed" ] || jq -e '.ok == true' <<<"$second" >/dev/null 2>&1; then
	pass "after a bad line, the connection closes or serves the next request ($second)"
else
	fail "after a bad line, the next request should be answered or the connection closed" "$out"
fi

# several good requests on one connection: one response each, in order
out=$(printf '{"v":1,"op":"version"}\n{"v":1,"op":"status"}\n{"v":1,"op":"list"}\n' |
	"$TOOLS/unixio" --socket "$SOCK" --expect 3)
n_ok=$(grep -c '"ok":true' <<<"$out")
assert_eq 3 "$n_ok" "three requests on one connection get three ok responses" "$out"
jq -e 'has("protocol")' <<<"$(sed -n 1p <<<"$out")" >/dev/null 2>&1 &&
	jq -e 'has("actions")' <<<"$(sed -n 3p <<<"$out")" >/dev/null 2>&1
check $? "responses come in request order" "$out"

# an oversized line (past the 64 MiB limit) closes that connection only
t0=$(now_ms)
out=$(printf '{"v":1,"op":"status","pad":"' |
	"$TOOLS/unixio" --socket "$SOCK" --junk $((64 * 1024 * 1024 + 65536)) --timeout 10000)
if [ "$(tail -n1 <<<"$out")" = "#closed" ]; then
	pass "a line over 64 MiB closes the connection ($(($(now_ms) - t0)) ms)"
else
	fail "a line over 64 MiB should close the connection" "$(tail -c 300 <<<"$out")"
fi
agent_ready
check $? "the agent still serves after an oversized line"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null)
log "agent VmRSS after the oversized line: ${rss:-?} kB"

# a slow client (half a line, then silence) does not block others
bg_client slow "$TOOLS/unixio" --socket "$SOCK" --no-read --hold 1500 </dev/null
slow=$BG_PID
printf '{"v":1,"op":' | "$TOOLS/unixio" --socket "$SOCK" --no-read --hold 1500 >/dev/null &
slow2=$!
BG_PIDS+=("$slow2")
sleep 0.1
t0=$(now_ms)
agent_ready
rc=$?
ms=$(($(now_ms) - t0))
[ "$rc" = 0 ] && [ "$ms" -lt 200 ]
check $? "with a silent client and a half-line client connected, status answers in $ms ms"

# a client that floods requests and never reads its answers does not block
# others: status and isolate keep answering in well under half a second
yes '{"v":1,"op":"list"}' | head -n 200000 |
	"$TOOLS/unixio" --socket "$SOCK" --no-read --hold 1500 --timeout 1000 >"$TMP/noread.out" &
noread=$!
BG_PIDS+=("$noread")
sleep 0.3
worst=0
for i in 1 2 3 4 5; do
	t0=$(now_ms)
	out=$(timeout 5 "$CTL_BIN" --socket "$SOCK" status 2>&1)
	rc=$?
	ms=$(($(now_ms) - t0))
	[ "$ms" -gt "$worst" ] && worst=$ms
	[ "$rc" = 0 ] || break
	sleep 0.05
done
[ "$rc" = 0 ] && [ "$worst" -lt 500 ]
check $? "while a client floods requests and never reads, status answers (worst of 5: $worst ms)" "$out"
t0=$(now_ms)
run_ctl isolate $S4:8009
ms=$(($(now_ms) - t0))
[ "$RC" = 0 ] && [ "$ms" -lt 500 ]
check $? "while a client floods requests, isolate takes $ms ms (exit $RC)" "$OUT"
assert_ctl 0 rollback --last
wait "$noread" "$slow" "$slow2" 2>/dev/null
log "flooding client: $(tr '\n' ' ' <"$TMP/noread.out")"
agent_ready
check $? "the agent serves after the slow clients left"

# many idle connections at once
pids=()
for i in $(seq 1 20); do
	"$TOOLS/unixio" --socket "$SOCK" --no-read --hold 1000 </dev/null >/dev/null &
	pids+=($!)
	BG_PIDS+=($!)
done
sleep 0.2
agent_ready
check $? "with 20 idle connections open, status still answers"
wait "${pids[@]}" 2>/dev/null
assert_unchanged "after the raw socket tests"

# ---- a peer that may not change state -----------------------------------------------------------------
# make the socket reachable for uid 65534, with a copy of isolctl it can run
cp "$CTL_BIN" "$TMP/isolctl"
cp "$TOOLS/unixio" "$TMP/unixio"
chmod 0755 "$TMP/isolctl" "$TMP/unixio"
chmod 0666 "$SOCK"
cat >"$TMP/apply-nobody.txt" <<EOF
isolate $S4:8002
EOF
chmod 0644 "$TMP/apply-nobody.txt"
nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups -- "$TMP/isolctl" --socket "$SOCK" "$@"; }
out=$(nobody version 2>&1)
rc=$?
if [ "$rc" = 3 ]; then
	fail "uid 65534 cannot reach the socket at all (exit 3): the denial tests below are moot" "$out"
fi
for a in "isolate $S4:8002" "isolate $S4:8002 --force" "isolate $S4:8002 --dry-run" \
	"rollback --all" "rollback --last" "restore $S4:8001" "apply -f $TMP/apply-nobody.txt"; do
	# shellcheck disable=SC2086
	out=$(nobody $a 2>&1)
	rc=$?
	assert_eq 1 "$rc" "uid 65534: isolctl $a is refused" "$out"
done
assert_unchanged "after the refused peer"
assert_refused_fast $S4 8001
grep -q '"t":"refused"' "$STATE/journal" 2>/dev/null
check $? "refusals are journaled" "$(tail -n 3 "$STATE/journal" 2>&1)"

# raw requests from the unprivileged peer: denied, not invalid
out=$(printf '{"v":1,"op":"rollback","all":true}\n' |
	setpriv --reuid 65534 --regid 65534 --clear-groups -- "$TMP/unixio" --socket "$SOCK" --expect 1)
jq -e '.ok == false and .error.code == "denied"' <<<"$(head -n1 <<<"$out")" >/dev/null 2>&1
check $? "a raw rollback from uid 65534 gets error code denied" "$out"
assert_unchanged "at the end"

finish
