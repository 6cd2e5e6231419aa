# lib.sh - shared helpers for the real-kernel tests (sourced by test_*.sh and
# scripts/demo.sh). Builds a private two-namespace topology, starts real
# servers and the agent inside it, and counts assertions.
#
#   client ns ($NSC, the agent's host)      server ns ($NSS)
#     10.77.0.1/24  fd77::1/64   <-veth->     10.77.0.2  fd77::2   tcpserve "A"
#     default via 10.77.0.254 / fd77::fe      10.77.0.3  fd77::3   tcpserve "B"
#                                             10.77.0.254 fd77::fe (the gateway)
#
# Only addresses inside these namespaces (10.77.0.0/24, fd77::/64) and
# loopback are ever used. Names carry $$ so parallel runs do not collide.
# Everything started is recorded and removed by the EXIT trap.

set -u

ISOL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ISOL_ROOT/build}
AGENT_BIN=$BUILD/isolagent
CTL_BIN=$BUILD/isolctl
TOOLS=$BUILD/tools

NS_ID=$$
NSC=isolc$NS_ID
NSS=isols$NS_ID
C4=10.77.0.1 S4=10.77.0.2 H4=10.77.0.3 GW4=10.77.0.254
C6=fd77::1 S6=fd77::2 H6=fd77::3 GW6=fd77::fe
# ports served on S4/H4/S6/H6 (tcp and udp) and on C4/C6 (the local service)
SRV_PORTS=8001-8013
LOCAL_PORTS=9001-9003

TMP=$(mktemp -d /tmp/isoltest.XXXXXX)
chmod 0755 "$TMP"
SOCK=$TMP/isol.sock
STATE=$TMP/state
AGENT_LOG=$TMP/agent.log
AGENT_PID=
PASS=0
FAIL=0
BG_PIDS=()
NS_MADE=()
TEST_NAME=$(basename "$0" .sh)

if [ -t 1 ]; then
	C_OK=$'\e[32m' C_BAD=$'\e[31m' C_DIM=$'\e[2m' C_OFF=$'\e[0m'
else
	C_OK='' C_BAD='' C_DIM='' C_OFF=''
fi

# ---- output and counting ----------------------------------------------------

log() { printf '%s# %s%s\n' "$C_DIM" "$*" "$C_OFF"; }

pass() {
	PASS=$((PASS + 1))
	printf '%sok%s   %s\n' "$C_OK" "$C_OFF" "$*"
}

# fail MESSAGE [DETAIL...]: the details (command output) are printed indented.
fail() {
	FAIL=$((FAIL + 1))
	printf '%sFAIL%s %s\n' "$C_BAD" "$C_OFF" "$1"
	shift
	local d
	for d in "$@"; do
		[ -n "$d" ] && printf '%s\n' "$d" | sed 's/^/     | /'
	done
	return 0
}

# check COND_STATUS MESSAGE [DETAIL...]: pass when the status is 0.
check() {
	local st=$1
	shift
	if [ "$st" = 0 ]; then pass "$1"; else fail "$@"; fi
}

assert_eq() { # EXPECTED GOT MESSAGE [DETAIL...]
	local exp=$1 got=$2 msg=$3
	shift 3
	if [ "$exp" = "$got" ]; then
		pass "$msg"
	else
		fail "$msg (expected '$exp', got '$got')" "$@"
	fi
}

assert_ne() { # UNEXPECTED GOT MESSAGE [DETAIL...]
	local bad=$1 got=$2 msg=$3
	shift 3
	if [ "$bad" != "$got" ]; then
		pass "$msg"
	else
		fail "$msg (got '$got')" "$@"
	fi
}

assert_contains() { # HAYSTACK NEEDLE MESSAGE
	if [[ "$1" == *"$2"* ]]; then
		pass "$3"
	else
		fail "$3 (no '$2' in output)" "$1"
	fi
}

assert_not_contains() { # HAYSTACK NEEDLE MESSAGE
	if [[ "$1" != *"$2"* ]]; then
		pass "$3"
	else
		fail "$3 ('$2' found in output)" "$1"
	fi
}

# finish: the summary line that tests/run.sh parses; exits with the result.
finish() {
	if [ "$FAIL" != 0 ] && [ -s "$AGENT_LOG" ]; then
		echo "--- last lines of the agent log ($AGENT_LOG) ---"
		tail -n 30 "$AGENT_LOG"
		AGENT_LOG_SHOWN=1
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ] && [ "$PASS" -gt 0 ]
	exit $?
}

# ---- time ---------------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME/./}"; }
now_ms() { local t; t=$(now_us); echo $((t / 1000)); }

# wait_until MS CMD...: poll CMD every 20 ms until it succeeds (0) or MS pass (1).
wait_until() {
	local limit=$(($(now_ms) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$limit" ] && return 1
		sleep 0.02
	done
}

# float comparison: lt A B
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# ---- namespaces and processes -------------------------------------------------

in_client() { nsenter --net="/run/netns/$NSC" "$@"; }
in_server() { nsenter --net="/run/netns/$NSS" "$@"; }

# bg_client NAME CMD... / bg_server NAME CMD...: run the program CMD (not a
# shell function: $BG_PID must be the program itself, so that signals reach
# it) in that namespace in the background; output in $TMP/NAME.out.
bg_client() { _bg "$NSC" "$@"; }
bg_server() { _bg "$NSS" "$@"; }
_bg() {
	local ns=$1 name=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >"$TMP/$name.out" 2>&1 &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

stop_pid() { # PID: TERM, then KILL after 2 s
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local st=$? pid ns
	trap - EXIT INT TERM
	trap '' PIPE # a reader that went away must not stop the cleanup
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID"
	for pid in "${BG_PIDS[@]}"; do
		stop_pid "$pid"
	done
	for ns in "${NS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$FAIL" != 0 ] && [ -s "$AGENT_LOG" ] && [ -z "${AGENT_LOG_SHOWN:-}" ]; then
		echo "--- last lines of the agent log ($AGENT_LOG) ---" >&2
		tail -n 30 "$AGENT_LOG" >&2
	fi
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

# need_root_and_tools: the preconditions of every netns test.
need_root_and_tools() {
	local missing=() b
	[ "$(id -u)" = 0 ] || missing+=("root")
	for b in ip nft nsenter jq setpriv; do
		command -v "$b" >/dev/null || missing+=("$b")
	done
	for b in "$AGENT_BIN" "$CTL_BIN" "$TOOLS/tcpserve" "$TOOLS/tcpcheck" "$TOOLS/udpcheck" \
		"$TOOLS/unixio"; do
		[ -x "$b" ] || missing+=("$b (make all tools)")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		fail "$TEST_NAME: missing: ${missing[*]}"
		finish
	fi
}

# topo_up: the two namespaces, the veth pair, addresses and routes.
topo_up() {
	ip netns add "$NSC" || { fail "ip netns add $NSC"; finish; }
	NS_MADE+=("$NSC")
	ip netns add "$NSS" || { fail "ip netns add $NSS"; finish; }
	NS_MADE+=("$NSS")
	ip link add veth0 netns "$NSC" type veth peer name veth0 netns "$NSS" ||
		{ fail "veth pair"; finish; }
	local ns
	for ns in "$NSC" "$NSS"; do
		ip -n "$ns" link set lo up
		ip -n "$ns" link set veth0 up
	done
	ip -n "$NSC" addr add $C4/24 dev veth0
	ip -n "$NSC" addr add $C6/64 dev veth0 nodad
	ip -n "$NSS" addr add $S4/24 dev veth0
	ip -n "$NSS" addr add $H4/24 dev veth0
	ip -n "$NSS" addr add $GW4/24 dev veth0
	ip -n "$NSS" addr add $S6/64 dev veth0 nodad
	ip -n "$NSS" addr add $H6/64 dev veth0 nodad
	ip -n "$NSS" addr add $GW6/64 dev veth0 nodad
	ip -n "$NSC" route add default via $GW4
	ip -n "$NSC" -6 route add default via $GW6
}

# ep ADDR PORT: the endpoint string (IPv6 in brackets).
ep() {
	case $1 in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

# servers_up: tcpserve "A" on S4/S6, "B" on H4/H6 (tcp+udp, $SRV_PORTS) in the
# server ns, and "L" on C4/C6 ($LOCAL_PORTS) in the client ns.
servers_up() {
	bg_server srvA "$TOOLS/tcpserve" --name A --both --ready-file "$TMP/srvA.ready" \
		"$S4:$SRV_PORTS" "[$S6]:$SRV_PORTS"
	bg_server srvB "$TOOLS/tcpserve" --name B --both --ready-file "$TMP/srvB.ready" \
		"$H4:$SRV_PORTS" "[$H6]:$SRV_PORTS"
	bg_client srvL "$TOOLS/tcpserve" --name L --both --ready-file "$TMP/srvL.ready" \
		"$C4:$LOCAL_PORTS" "[$C6]:$LOCAL_PORTS"
	local r
	for r in srvA srvB srvL; do
		wait_until 3000 test -e "$TMP/$r.ready" ||
			{ fail "server $r did not start" "$(cat "$TMP/$r.out")"; finish; }
	done
}

# ---- the agent ----------------------------------------------------------------

# ctl ARGS...: isolctl against our agent, never with the caller's SSH session.
ctl() { env -u SSH_CONNECTION -u ISOL_SOCKET "$CTL_BIN" --socket "$SOCK" "$@"; }

agent_ready() { ctl status >/dev/null 2>&1; }

# start_agent [EXTRA ARGS...]: the agent in the client ns, in the foreground of
# a background job; returns when `isolctl status` answers (fails after 5 s).
start_agent() {
	mkdir -p "$STATE"
	echo "=== start $(date +%T.%N) $*" >>"$AGENT_LOG"
	nsenter --net="/run/netns/$NSC" "$AGENT_BIN" --foreground --socket "$SOCK" \
		--state-dir "$STATE" --log-level debug "$@" >>"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	local limit=$(($(now_ms) + 5000))
	while ! agent_ready; do
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then
			wait "$AGENT_PID"
			fail "agent exited with status $? during start" "$(tail -n 20 "$AGENT_LOG")"
			AGENT_PID=
			return 1
		fi
		if [ "$(now_ms)" -ge "$limit" ]; then
			fail "agent not ready after 5 s" "$(tail -n 20 "$AGENT_LOG")"
			return 1
		fi
		sleep 0.01
	done
	return 0
}

# stop_agent: SIGTERM and wait.  kill_agent: SIGKILL and wait.
stop_agent() {
	[ -n "$AGENT_PID" ] || return 0
	stop_pid "$AGENT_PID"
	AGENT_PID=
}

kill_agent() {
	[ -n "$AGENT_PID" ] || return 0
	kill -KILL "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# ---- the kernel's view ----------------------------------------------------------

# nft_table: our table as the kernel lists it; empty when there is no such
# table. When nft itself fails (it cannot parse what the agent wrote, say)
# it prints "NFT-FAILED ..." and returns 3, so that no "gone" check passes
# on a listing that did not happen.
nft_table() {
	local out rc
	out=$(in_client nft list table inet isol 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		printf '%s\n' "$out"
	elif [[ "$out" == *"No such file or directory"* ]]; then
		return 0
	else
		printf 'NFT-FAILED (nft list table inet isol: exit %s)\n%s\n' "$rc" "$out"
		return 3
	fi
}

# nft_maps: the maps and sets of our table (where the elements live), listed
# without the rules, so that element checks do not depend on nft being able
# to decode every rule. Same failure contract as nft_table.
nft_maps() {
	local out rc kind
	for kind in maps sets; do
		out=$(in_client nft list "$kind" inet 2>&1)
		rc=$?
		if [ "$rc" != 0 ]; then
			printf 'NFT-FAILED (nft list %s inet: exit %s)\n%s\n' "$kind" "$rc" "$out"
			return 3
		fi
		awk '/^table inet isol \{/ { on = 1 } on { print } on && /^\}/ { on = 0 }' <<<"$out"
	done
}

# nft_table_stable: the maps and sets without what changes by itself
# (counters, the time left on elements), for before/after comparisons.
# (without the timers, the counters and @hits' elements: the counters of the
# isolations traffic hit)
nft_table_stable() {
	nft_maps | sed -E -e 's/ expires [0-9a-z.]+//g' -e 's/packets [0-9]+ bytes [0-9]+//g' |
		awk '/^\tset hits \{/ { h = 1 } h && /elements = / { e = 1 } h && /^\t}/ { h = e = 0 }
			!e { print }'
}

# nft_elements: every set/map element, one per line (status 3 if nft failed).
nft_elements() {
	local t
	t=$(nft_maps) || { printf '%s\n' "$t"; return 3; }
	tr -d '\n' <<<"$t" | grep -o 'elements = {[^}]*}' |
		sed -e 's/^elements = {//' -e 's/}$//' | tr ',' '\n' | sed -e 's/^[[:space:]]*//'
	return 0
}

# kernel_has_id ID: an element carries the comment "isol:ID" (2: nft failed).
# kernel_lacks_id ID: nft listed the table (or there is none) without it.
kernel_has_id() {
	local t
	t=$(nft_maps) || return 2
	grep -q "\"isol:$1\"" <<<"$t"
}
kernel_lacks_id() {
	local t
	t=$(nft_maps) || return 2
	! grep -q "\"isol:$1\"" <<<"$t"
}

# kernel_count: how many action elements (comment "isol:ID") the table holds
# ("NFT-FAILED" if nft failed). Constant elements of the skeleton don't count.
kernel_count() {
	local e
	e=$(nft_elements) || { echo NFT-FAILED; return 3; }
	grep -c '"isol:[0-9]*"' <<<"$e"
}

# state_snapshot: remember the kernel table and the action list;
# assert_unchanged WHAT: both are still the same (and nft could list the table).
state_snapshot() {
	SNAP_TABLE=$(nft_table_stable)
	SNAP_LIST=$(list_ids)
}
assert_unchanged() {
	local t l
	t=$(nft_table_stable)
	l=$(list_ids)
	if [[ "$t" == *NFT-FAILED* ]]; then
		fail "$1: cannot compare, nft could not list the table" "$t"
	elif [ "$t" = "$SNAP_TABLE" ] && [ "$l" = "$SNAP_LIST" ]; then
		pass "$1: kernel table and action list unchanged"
	else
		fail "$1: something changed" "list before: $SNAP_LIST" "list after: $l" \
			"$(diff <(echo "$SNAP_TABLE") <(echo "$t"))"
	fi
}

# ---- what a client sees -----------------------------------------------------------

# probe_tcp [--timeout MS] ADDR PORT: one tcpcheck line in $PROBE, run from
# the client ns, or from the server ns when FROM=server is set.
probe_tcp() {
	local to=1000
	if [ "$1" = --timeout ]; then to=$2; shift 2; fi
	PROBE=$(_from "$TOOLS/tcpcheck" --timeout "$to" "$(ep "$1" "$2")" 2>&1)
}

probe_udp() {
	local to=1000
	if [ "$1" = --timeout ]; then to=$2; shift 2; fi
	PROBE=$(_from "$TOOLS/udpcheck" --timeout "$to" "$(ep "$1" "$2")" 2>&1)
}

_from() {
	if [ "${FROM:-client}" = server ]; then in_server "$@"; else in_client "$@"; fi
}

# assert_ok ADDR PORT [NAME]: a TCP connect from the client ns gets NAME's banner.
assert_ok() {
	probe_tcp "$1" "$2"
	local want="ok ${3:-}"
	if [[ "$PROBE" == "$want"* ]]; then
		pass "tcp $(ep "$1" "$2") works ($PROBE)"
	else
		fail "tcp $(ep "$1" "$2") should work, got: $PROBE"
	fi
}

# assert_refused_fast ADDR PORT [MS]: connection refused (RST) within MS (50).
assert_refused_fast() {
	local lim=${3:-50}
	probe_tcp "$1" "$2"
	local what=${PROBE%% *} ms=${PROBE##* }
	if [ "$what" = refused ] && lt "$ms" "$lim"; then
		pass "tcp $(ep "$1" "$2") refused in $ms ms"
	else
		fail "tcp $(ep "$1" "$2") should be refused within $lim ms, got: $PROBE"
	fi
}

# assert_timeout ADDR PORT [MS]: the connect hangs (dropped) for MS (300).
assert_timeout() {
	probe_tcp --timeout "${3:-300}" "$1" "$2"
	if [ "${PROBE%% *}" = timeout ]; then
		pass "tcp $(ep "$1" "$2") times out ($PROBE)"
	else
		fail "tcp $(ep "$1" "$2") should time out, got: $PROBE"
	fi
}

assert_udp_ok() {
	probe_udp "$1" "$2"
	if [[ "$PROBE" == "ok ${3:-}"* ]]; then
		pass "udp $(ep "$1" "$2") works ($PROBE)"
	else
		fail "udp $(ep "$1" "$2") should work, got: $PROBE"
	fi
}

# assert_udp_rejected ADDR PORT: the sender learns fast: an ICMP error
# (refused/unreachable) or, for the output hook, EPERM on the send (denied).
assert_udp_rejected() {
	probe_udp "$1" "$2"
	local what=${PROBE%% *} ms=${PROBE##* }
	if [[ "$what" =~ ^(refused|unreachable|denied)$ ]] && lt "$ms" 50; then
		pass "udp $(ep "$1" "$2") rejected in $ms ms ($what)"
	else
		fail "udp $(ep "$1" "$2") should be rejected fast, got: $PROBE"
	fi
}

# hold_start NAME ADDR PORT: an established connection (tcpcheck --hold) from
# the client ns (FROM=server: the server ns); returns once it holds.
declare -A HOLD_PIDS
hold_start() {
	local name=$1
	if [ "${FROM:-client}" = server ]; then
		bg_server "$name" "$TOOLS/tcpcheck" --hold --timeout 1000 "$(ep "$2" "$3")"
	else
		bg_client "$name" "$TOOLS/tcpcheck" --hold --timeout 1000 "$(ep "$2" "$3")"
	fi
	HOLD_PIDS[$name]=$BG_PID
	if wait_until 2000 grep -q '^held' "$TMP/$name.out"; then
		pass "established connection $name to $(ep "$2" "$3") ($(head -n1 "$TMP/$name.out"))"
	else
		fail "could not establish connection $name to $(ep "$2" "$3")" "$(cat "$TMP/$name.out")"
	fi
}

# hold_poke NAME: make the held connection send one line; $PROBE is what became of it.
hold_poke() {
	local pid=${HOLD_PIDS[$1]}
	kill -USR1 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PROBE=$(tail -n 1 "$TMP/$1.out")
}

# ---- isolctl helpers ---------------------------------------------------------------

# run_ctl ARGS...: run isolctl, leaving $OUT (stdout+stderr) and $RC.
run_ctl() {
	OUT=$(ctl "$@" 2>&1)
	RC=$?
}

# assert_ctl RC ARGS...: isolctl exits with RC.
assert_ctl() {
	local want=$1
	shift
	run_ctl "$@"
	if [ "$RC" = "$want" ]; then
		pass "isolctl $* -> exit $RC"
	else
		fail "isolctl $* -> exit $RC, expected $want" "$OUT"
	fi
}

# list_json: `isolctl --json list` as an array of actions ("LIST-FAILED ..."
# and status 1 when the agent does not answer).
list_json() {
	local l
	l=$(ctl --json list 2>&1) || { echo "LIST-FAILED $l"; return 1; }
	jq -c '.actions // .' <<<"$l"
}

# list_ids: the ids of the active actions, space separated, ascending.
list_ids() {
	local j
	j=$(list_json) || { echo "$j"; return 1; }
	jq -r '[.[].id] | sort | map(tostring) | join(" ")' <<<"$j"
}

# listed ID: 0 when the agent lists action ID. not_listed ID: 0 when the
# agent answered and ID is not in its list (an agent that does not answer
# never passes either).
listed() {
	local l
	l=$(ctl --json list 2>/dev/null) || return 2
	jq -e --argjson id "$1" '(.actions // .) | any(.[]; .id == $id)' <<<"$l" >/dev/null
}
not_listed() {
	local l
	l=$(ctl --json list 2>/dev/null) || return 2
	jq -e --argjson id "$1" '(.actions // .) | all(.[]; .id != $id)' <<<"$l" >/dev/null
}

# isolate_id ARGS...: `isolctl --json isolate ARGS`; prints the new id.
isolate_id() {
	local o
	o=$(ctl --json isolate "$@" 2>&1) || { echo "isolate $* failed: $o" >&2; return 1; }
	printf '%s' "$o" | jq -r '(.action.id // .id)'
}
