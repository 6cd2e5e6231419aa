#!/usr/bin/env bash
# run.sh - isol's performance contract (DESIGN.md "Performance contract"),
# measured side by side with its baselines in one run on this machine and
# printed as one table with a PASS/MISS verdict per goal. Run by `make bench`
# after `make all`; needs root (network namespaces, nftables). Builds its own
# programs (tests/bench/*.c) into $BUILD/bench.
#
# Everything is private: three pairs of network namespaces joined by veth,
# each 10.99.0.1 (client side) <-> 10.99.0.2 (server side, connbench serve):
#   $NSA/$NSB  "with": the agent under test, isolctl, the scratch nft table
#              `inet bench`; later holds BULK isolations
#   $NSC/$NSD  "none": a second, fresh agent with no isolations
#   $NSE/$NSF  "bare": no nftables table at all (reference)
# Isolation targets (10.20-10.21.x.y, 10.200-10.202.x.y) are never routed;
# nothing outside these namespaces is ever addressed.
#
# Environment: BUILD (default build), BENCH_RPC_COUNT (2000),
# BENCH_SPAWN_COUNT (300), BENCH_BULK (100000), BENCH_BULK_RUNS (3: apply -f
# and nft -f runs, rolled back in between), BENCH_CONN_SECONDS (0.5) and
# BENCH_CONN_SAMPLES (20): connection-rate samples per state, interleaved
# (short and many: on a shared machine that beats few long ones),
# BENCH_KEEP=1 keeps the temp dir, BENCH_STRICT=1 exits 1 when a goal is missed.
# Exit: 0 when every figure was measured, 1 when one could not be (or, with
# BENCH_STRICT=1, when a goal was missed).

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BB=$BUILD/bench
AGENT=$BUILD/isolagent
CTL=$BUILD/isolctl
RPC_COUNT=${BENCH_RPC_COUNT:-2000}
SPAWN_COUNT=${BENCH_SPAWN_COUNT:-300}
BULK=${BENCH_BULK:-100000}
BULK_RUNS=${BENCH_BULK_RUNS:-3}
CONN_SECONDS=${BENCH_CONN_SECONDS:-0.5}
CONN_SAMPLES=${BENCH_CONN_SAMPLES:-20}
NFT=$(command -v nft)
TRUE=$(command -v true)
[ "${TRUE:0:1}" = / ] || TRUE=/bin/true

NSA=isolbA$$ NSB=isolbB$$ NSC=isolbC$$ NSD=isolbD$$ NSE=isolbE$$ NSF=isolbF$$
CLI4=10.99.0.1
SRV=10.99.0.2:8080
# isolctl must not pick up the caller's SSH session (a protected peer) or socket
unset SSH_CONNECTION ISOL_SOCKET

declare -A R   # every figure, by name
ERRORS=()      # what could not be measured
NS_MADE=()
PIDS=()        # every background process we started (servers, agents)
AGENT_PID=     # the agent under test, in $NSA
SOCK='' STATE=''
NONE_PID=      # the agent with no isolations, in $NSC
TMP=

say() { printf '# %s\n' "$*" >&2; }
err() {
	ERRORS+=("$*")
	printf 'bench: ERROR: %s\n' "$*" >&2
}

stop_pid() { # PID: TERM, then KILL after 2 s
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
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
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	# deleting a namespace also removes the nftables tables in it
	for ns in "${NS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TMP" ]; then
		if [ -n "${BENCH_KEEP:-}" ]; then
			echo "bench: kept $TMP" >&2
		else
			rm -rf "$TMP"
		fi
	fi
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { # NS CMD...
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}
inA() { in_ns "$NSA" "$@"; }

# ---- preconditions and build ---------------------------------------------------

preflight() {
	local missing=() b
	[ "$(id -u)" = 0 ] || missing+=("root")
	for b in ip nft nsenter awk cc pkg-config getconf; do
		command -v "$b" >/dev/null || missing+=("$b")
	done
	for b in "$AGENT" "$CTL"; do
		[ -x "$b" ] || missing+=("$b (make all)")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "bench: missing: ${missing[*]}" >&2
		exit 1
	fi
}

# The benchmark programs, with the repo's warnings; rebuilt when a source is newer.
build_bench() {
	local warn="-Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith
		-Wcast-qual -Wwrite-strings -Wformat=2 -Wundef -Wno-unused-parameter"
	local libs src bin
	libs=$(pkg-config --cflags --libs jansson) || { echo "bench: no jansson" >&2; exit 1; }
	mkdir -p "$BB"
	for src in "$ROOT"/tests/bench/*.c; do
		bin=$BB/$(basename "$src" .c)
		if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$ROOT/tests/bench/bench.h" -nt "$bin" ]; then
			# shellcheck disable=SC2086
			cc -O2 -g -std=gnu11 $warn -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/tests/bench" \
				-o "$bin" "$src" $libs -lpthread || { echo "bench: cannot build $bin" >&2; exit 1; }
		fi
	done
}

# stage_bins: run private copies, so that a rebuild or `make clean` in the
# tree during the run changes nothing (what is measured is what was built at
# the start).
stage_bins() {
	local b
	mkdir -p "$TMP/bin"
	for b in "$AGENT" "$CTL" "$BB"/*; do
		if [ ! -f "$b" ] || [ ! -x "$b" ]; then
			continue
		fi
		cp "$b" "$TMP/bin/" || { echo "bench: cannot copy $b" >&2; exit 1; }
	done
	AGENT=$TMP/bin/$(basename "$AGENT")
	CTL=$TMP/bin/$(basename "$CTL")
	BB=$TMP/bin
}

# ---- helpers ------------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME/./}"; }

# load TAG FILE: every key=value line of FILE into R[TAG.key].
load() {
	local tag=$1 k v
	while IFS='=' read -r k v; do
		[ -n "$k" ] && R[$tag.$k]=$v
	done <"$2"
}

# get KEY: R[KEY], or NA.
get() { echo "${R[$1]:-NA}"; }

# awk_vars NAME=VALUE...: AWK_ARGS=(-v NAME=VALUE ...)
awk_vars() {
	AWK_ARGS=()
	local a
	for a in "$@"; do
		AWK_ARGS+=(-v "$a")
	done
}

# calc EXPR VARS...: awk arithmetic on name=value pairs; NA when any value is NA.
calc() {
	local expr=$1 a
	shift
	for a in "$@"; do
		[ "${a#*=}" = NA ] && { echo NA; return; }
	done
	awk_vars "$@"
	awk "${AWK_ARGS[@]}" "BEGIN { printf \"%.6g\", $expr }" </dev/null
}

# median V...: the median of the numbers (mean of the middle two), NA for none.
median() {
	[ $# -gt 0 ] || { echo NA; return; }
	printf '%s\n' "$@" | grep -v '^NA$' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "NA";
			else if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2];
			else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

vmhwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo NA; }
vmrss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo NA; }

# cpu_ms PID [user|sys]: the process's user+system (or only user, or only
# system) CPU time so far, in ms (0 without PID).
cpu_ms() {
	[ -n "$1" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" -v what="${2:-all}" '{ sub(/^.*\) /, "")
		v = what == "user" ? $12 : what == "sys" ? $13 : $12 + $13
		printf "%d", v * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- topology, servers, agents --------------------------------------------------------

# pair_up CLIENT_NS SERVER_NS: the two namespaces, a veth pair between them and
# the connection-rate server in SERVER_NS.
pair_up() {
	local c=$1 s=$2 ns i
	for ns in "$c" "$s"; do
		ip netns add "$ns" || { echo "bench: ip netns add $ns failed" >&2; exit 1; }
		NS_MADE+=("$ns")
	done
	ip link add bv0 netns "$c" type veth peer name bv0 netns "$s" ||
		{ echo "bench: veth pair failed" >&2; exit 1; }
	for ns in "$c" "$s"; do
		ip -n "$ns" link set lo up
		ip -n "$ns" link set bv0 up
	done
	ip -n "$c" addr add $CLI4/24 dev bv0
	ip -n "$s" addr add "${SRV%:*}/24" dev bv0
	# nsenter itself, not a shell function: $! must be the program (nsenter execs)
	nsenter --net="/run/netns/$s" "$BB/connbench" serve "$SRV" --ready "$TMP/$s.ready" \
		>"$TMP/$s.log" 2>&1 &
	PIDS+=("$!")
	for i in $(seq 150); do
		[ -e "$TMP/$s.ready" ] && return 0
		sleep 0.02
	done
	echo "bench: server in $s did not start: $(cat "$TMP/$s.log")" >&2
	exit 1
}

# start_agent NAME NS: a fresh agent in NS, socket $TMP/NAME.sock, state dir
# $TMP/NAME.state; sets STARTED_PID, STARTED_SOCK and STARTED_STATE.
start_agent() {
	local name=$1 ns=$2 i
	STARTED_SOCK=$TMP/$name.sock
	STARTED_STATE=$TMP/$name.state
	mkdir -p "$STARTED_STATE"
	nsenter --net="/run/netns/$ns" "$AGENT" --foreground --socket "$STARTED_SOCK" \
		--state-dir "$STARTED_STATE" >"$TMP/$name.log" 2>&1 &
	STARTED_PID=$!
	PIDS+=("$STARTED_PID")
	for i in $(seq 250); do
		"$CTL" --socket "$STARTED_SOCK" status >/dev/null 2>&1 && return 0
		kill -0 "$STARTED_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "bench: agent $name did not start:" >&2
	tail -n 20 "$TMP/$name.log" >&2
	exit 1
}

# test_agent NAME: a fresh agent under test in $NSA (AGENT_PID, SOCK, STATE).
test_agent() {
	start_agent "$1" "$NSA"
	AGENT_PID=$STARTED_PID SOCK=$STARTED_SOCK STATE=$STARTED_STATE
}

# stop_test_agent: stop the agent under test and remove its table (the table
# outlives the agent on purpose).
stop_test_agent() {
	local i
	stop_pid "$AGENT_PID"
	AGENT_PID=
	# the kernel drops the table's owner a moment after the process is gone
	for i in $(seq 100); do
		inA "$AGENT" --flush --socket "$SOCK" --state-dir "$STATE" >>"$TMP/flush.log" 2>&1 &&
			return 0
		sleep 0.05
	done
	err "isolagent --flush: $(tail -n 3 "$TMP/flush.log")"
}

# ---- the scratch nft table -----------------------------------------------------------

BENCH_SET_DEF='{ type ipv4_addr . inet_proto . inet_service; flags timeout; }'

bench_table_new() {
	inA nft delete table inet bench 2>/dev/null
	inA nft add table inet bench && inA nft add set inet bench s "$BENCH_SET_DEF"
}
bench_table_del() { inA nft delete table inet bench 2>/dev/null; }

# ---- the measurements ------------------------------------------------------------------

# spawn TAG ARGS...: spawnlat ARGS inside $NSA, results into R[TAG.*].
spawn() {
	local tag=$1
	shift
	# the children's output goes to .log, spawnlat's own complaints to .err
	if ! inA "$BB/spawnlat" --log "$TMP/spawn-$tag.log" "$@" >"$TMP/spawn-$tag.out" \
		2>"$TMP/spawn-$tag.err"; then
		err "spawnlat $tag: $(head -n 5 "$TMP/spawn-$tag.err")" \
			"(children's output: $(tail -n 3 "$TMP/spawn-$tag.log"))"
	fi
	load "$tag" "$TMP/spawn-$tag.out"
}

# 1. one isolation over an open connection, beside the fsync of a small append
bench_rpc() {
	say "1: $RPC_COUNT isolations over one connection, each after an fsync baseline sample"
	# the baseline file goes beside the state dir: the same filesystem
	inA "$BB/rpclat" --socket "$SOCK" --count "$RPC_COUNT" --warmup 50 --base 10.200 \
		--ttl-ms 600000 --fsync-dir "$TMP" >"$TMP/rpc.out" 2>&1 ||
		err "rpclat: $(tail -n 5 "$TMP/rpc.out")"
	load rpc "$TMP/rpc.out"
	# the same over a new connection per request, as isolctl does it
	inA "$BB/rpclat" --socket "$SOCK" --count 300 --warmup 10 --base 10.203 \
		--ttl-ms 600000 --fsync-dir "$TMP" --reconnect >"$TMP/rpcconn.out" 2>&1 ||
		err "rpclat --reconnect: $(tail -n 5 "$TMP/rpcconn.out")"
	load rpcc "$TMP/rpcconn.out"
}

# 2. isolctl isolate as a process, beside true and nft add element, interleaved
bench_spawn() { # TAG BASE
	local tag=$1 base=$2
	say "2: $SPAWN_COUNT x (true, isolctl isolate, nft add element, isolctl --help," \
		"isolctl version, fsync) interleaved [$tag]"
	# --help (no agent), version (a round trip, no change) and the journal's
	# fsync, spaced like the isolations, split isolctl's cost
	spawn "$tag" --count "$SPAWN_COUNT" --warmup 10 --base "$base" \
		-c true "$TRUE" \
		-c isolctl "$CTL" --socket "$SOCK" isolate '{}:5672' --ttl 10m \
		-c nft "$NFT" add element inet bench s '{ {} . tcp . 5672 timeout 10m }' \
		-c help "$CTL" --help \
		-c version "$CTL" --socket "$SOCK" version \
		-c fsync @fsync "$TMP/spawn-fsync.tmp"
}

# the bulk files: the same BULK distinct targets, 10.20.0.1 upwards
make_bulk_files() {
	awk -v n="$BULK" 'BEGIN { for (i = 0; i < n; i++)
		printf "isolate 10.%d.%d.%d:5672 --ttl 1h\n", 20 + int(i / 65024), int(i / 254) % 256, 1 + i % 254 }' \
		>"$TMP/bulk.isol"
	# nft's fastest form: one add element statement with every element
	awk -v n="$BULK" 'BEGIN { print "add element inet bench s {"; for (i = 0; i < n; i++)
		printf "%s10.%d.%d.%d . tcp . 5672 timeout 1h\n", (i ? "," : ""), 20 + int(i / 65024), int(i / 254) % 256, 1 + i % 254;
		print "}" }' >"$TMP/bulk.nft"
	# for reference: elements shaped like the agent's (in a set with
	# counters, a counter and a comment on each element)
	cat >"$TMP/shaped.nft" <<-'EOF'
		table inet bench2 {
			set s {
				type ipv4_addr . inet_proto . inet_service
				flags timeout
				counter
			}
		}
	EOF
	awk -v n="$BULK" 'BEGIN { print "add element inet bench2 s {"; for (i = 0; i < n; i++)
		printf "%s10.%d.%d.%d . tcp . 5672 counter timeout 1h comment \"isol:%d\"\n", (i ? "," : ""), 20 + int(i / 65024), int(i / 254) % 256, 1 + i % 254, i + 1;
		print "}" }' >"$TMP/bulk-shaped.nft"
}

APPLY_MS=() APPLY_RSS=() NFTF_MS=() NFTF_RSS=() ROLLBACK_MS=()
# apply_bulk: isolctl apply -f of the bulk file, wall time and isolctl's peak RSS
APPLY_AUSER=() APPLY_ASYS=()
apply_bulk() {
	local k=${#APPLY_MS[@]} u0 s0
	u0=$(cpu_ms "$AGENT_PID" user) s0=$(cpu_ms "$AGENT_PID" sys)
	spawn "apply$k" --count 1 -c run "$CTL" --socket "$SOCK" apply -f "$TMP/bulk.isol"
	APPLY_AUSER+=("$(($(cpu_ms "$AGENT_PID" user) - u0))")
	APPLY_ASYS+=("$(($(cpu_ms "$AGENT_PID" sys) - s0))")
	APPLY_MS+=("$(calc 'v / 1000' v="$(get "apply$k.run_p50_us")")")
	APPLY_RSS+=("$(get "apply$k.run_rss_max_kb")")
	say "apply -f $BULK: ${APPLY_MS[-1]} ms, isolctl peak RSS ${APPLY_RSS[-1]} kB"
}
# nftf_bulk: nft -f of the same elements into a fresh scratch table
nftf_bulk() {
	local k=${#NFTF_MS[@]}
	bench_table_new || err "cannot create the scratch table inet bench"
	spawn "nftf$k" --count 1 -c run "$NFT" -f "$TMP/bulk.nft"
	NFTF_MS+=("$(calc 'v / 1000' v="$(get "nftf$k.run_p50_us")")")
	NFTF_RSS+=("$(get "nftf$k.run_rss_max_kb")")
	say "nft -f $BULK: ${NFTF_MS[-1]} ms, peak RSS ${NFTF_RSS[-1]} kB"
}
rollback_all() {
	local k=${#ROLLBACK_MS[@]}
	spawn "rollback$k" --count 1 -c run "$CTL" --socket "$SOCK" --json rollback --all
	ROLLBACK_MS+=("$(calc 'v / 1000' v="$(get "rollback$k.run_p50_us")")")
	say "rollback --all of $BULK: ${ROLLBACK_MS[-1]} ms"
}

# 3. BULK isolations by apply -f, then nft -f of the same, BULK_RUNS times,
# rolled back in between; the last run of each stays (for 2 and 4). The agent
# is fresh, so the VmHWM growth of the first apply is its peak memory for it.
bench_bulk() {
	local k
	say "3: $BULK isolations, isolctl apply -f vs nft -f, $BULK_RUNS runs each"
	R[agent.hwm0]=$(vmhwm_kb "$AGENT_PID")
	R[agent.rss0]=$(vmrss_kb "$AGENT_PID")
	for k in $(seq "$BULK_RUNS"); do
		apply_bulk
		if [ "$k" = 1 ]; then
			R[agent.hwm1]=$(vmhwm_kb "$AGENT_PID")
			R[agent.rss1]=$(vmrss_kb "$AGENT_PID")
		fi
		nftf_bulk
		[ "$k" = "$BULK_RUNS" ] && break
		rollback_all
		[ "$k" = 1 ] && R[agent.rss2]=$(vmrss_kb "$AGENT_PID")
	done
	# reference, once: nft -f of agent-shaped elements
	inA nft -f "$TMP/shaped.nft" || err "cannot create the scratch table inet bench2"
	spawn shaped --count 1 -c run "$NFT" -f "$TMP/bulk-shaped.nft"
	inA nft delete table inet bench2 2>/dev/null
	say "nft -f $BULK agent-shaped elements: $(ms "$(get shaped.run_p50_us)") ms," \
		"peak RSS $(get shaped.run_rss_max_kb) kB"
}

# conn STATE NS AGENT_PID: one connection-rate sample from NS's client side;
# appends to CONN_STATE, and that agent's CPU time during it to CPU_STATE.
# Also the client's CPU time per connection to CCPU_STATE.
CONN_with=() CONN_none=() CONN_bare=() CCPU_with=() CCPU_none=() CCPU_bare=()
CPU_with=() CPU_none=()
# shellcheck disable=SC2034 # written through a nameref; no agent in "bare"
CPU_bare=()
conn() {
	local tag=$1 ns=$2 pid=$3 out c0 rate failed ccpu
	local -n conn_rates=CONN_$tag conn_agent_cpu=CPU_$tag conn_client_cpu=CCPU_$tag
	c0=$(cpu_ms "$pid")
	out=$(in_ns "$ns" "$BB/connbench" rate "$SRV" --seconds "$CONN_SECONDS" 2>&1)
	conn_agent_cpu+=("$(($(cpu_ms "$pid") - c0))")
	rate=$(printf '%s\n' "$out" | awk -F= '$1 == "conn_rate" { print $2 }')
	failed=$(printf '%s\n' "$out" | awk -F= '$1 == "conn_failed" { print $2 }')
	ccpu=$(printf '%s\n' "$out" | awk -F= '$1 == "conn_cpu_us" { print $2 }')
	if [ -z "$rate" ] || [ "${failed:-1}" != 0 ]; then
		err "connection rate ($tag): $out"
		rate=NA
		ccpu=NA
	fi
	conn_rates+=("$rate")
	conn_client_cpu+=("${ccpu:-NA}")
}

# 4. the packet path: with BULK isolations ($NSA), with none (a fresh agent in
# $NSC) and with no table ($NSE), sampled in turn, the order reversed every
# round (ABC CBA ...) so that drift hits all three alike.
bench_path() {
	local k
	say "4: connection rate, $CONN_SAMPLES x $CONN_SECONDS s per state, interleaved"
	for k in $(seq "$CONN_SAMPLES"); do
		if [ $((k % 2)) = 1 ]; then
			conn with "$NSA" "$AGENT_PID"
			conn none "$NSC" "$NONE_PID"
			conn bare "$NSE" ""
		else
			conn bare "$NSE" ""
			conn none "$NSC" "$NONE_PID"
			conn with "$NSA" "$AGENT_PID"
		fi
	done
}

# ---- the report ---------------------------------------------------------------------

VERDICTS=()
ROWFMT='%-42s %11s  %-38s %-27s %s\n'
# row FIGURE ISOL BASELINE GOAL OK: OK is 1 (PASS), 0 (MISS), NA (not measured), - (info)
row() {
	local v
	case $5 in
	1) v=PASS ;;
	0) v=MISS ;;
	-) v= ;;
	*) v=ERROR ;;
	esac
	[ -n "$v" ] && VERDICTS+=("$v")
	# shellcheck disable=SC2059
	printf "$ROWFMT" "$1" "$2" "$3" "$4" "$v"
}

# ok EXPR VARS...: 1 when EXPR holds, 0 when not, NA when a value is NA.
ok() {
	local expr=$1 a
	shift
	for a in "$@"; do
		[ "${a#*=}" = NA ] && { echo NA; return; }
	done
	awk_vars "$@"
	awk "${AWK_ARGS[@]}" "BEGIN { print (($expr) ? 1 : 0) }" </dev/null
}

# number formats; NA stays NA
f0() { awk -v v="$1" 'BEGIN { if (v == "NA") print v; else printf "%.0f", v }'; }
f1() { awk -v v="$1" 'BEGIN { if (v == "NA") print v; else printf "%.1f", v }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "NA") print v; else printf "%.2f", v / 1000 }'; }
mb() { awk -v v="$1" 'BEGIN { if (v == "NA") print v; else printf "%.1f", v / 1024 }'; }
# list V...: the values rounded, space separated
list() {
	local v out=
	for v in "$@"; do out+="$(f0 "$v") "; done
	echo "${out% }"
}

report() {
	local rp50 rp99 bp50 bp99 fp50 fp99 t50 i50 n50 h50 v50 ti50 ii50 nb50
	rp50=$(get rpc.rpc_p50_us) rp99=$(get rpc.rpc_p99_us)
	bp50=$(get rpc.batch_p50_us) bp99=$(get rpc.batch_p99_us)
	fp50=$(get rpc.fsync_p50_us) fp99=$(get rpc.fsync_p99_us)
	t50=$(get A.true_p50_us) i50=$(get A.isolctl_p50_us) n50=$(get A.nft_p50_us)
	h50=$(get A.help_p50_us) v50=$(get A.version_p50_us)
	ti50=$(get B.true_p50_us) ii50=$(get B.isolctl_p50_us) nb50=$(get B.nft_p50_us)

	local apply_ms nftf_ms nftf_rss ctl_rss growth isol_mem none with bare
	apply_ms=$(median "${APPLY_MS[@]}")
	nftf_ms=$(median "${NFTF_MS[@]}")
	nftf_rss=$(median "${NFTF_RSS[@]}")
	ctl_rss=$(median "${APPLY_RSS[@]}")
	growth=$(calc 'a - b' a="$(get agent.hwm1)" b="$(get agent.hwm0)")
	isol_mem=$(calc 'a + b' a="$ctl_rss" b="$growth")
	none=$(median "${CONN_none[@]}")
	with=$(median "${CONN_with[@]}")
	bare=$(median "${CONN_bare[@]}")
	# same-round ratios (in %): drift cancels out within a round
	local i pw=() pn=() pair_with pair_none
	for i in "${!CONN_with[@]}"; do
		pw+=("$(calc '(w / n - 1) * 100' w="${CONN_with[$i]}" n="${CONN_none[$i]:-NA}")")
		pn+=("$(calc '(n / b - 1) * 100' n="${CONN_none[$i]:-NA}" b="${CONN_bare[$i]:-NA}")")
	done
	pair_with=$(median "${pw[@]}")
	pair_none=$(median "${pn[@]}")
	# the noise of that median: 1.25 * 1.4826 * MAD / sqrt(n), in points
	local noise
	noise=$(printf '%s\n' "${pw[@]}" | grep -v '^NA$' |
		awk -v m="$pair_with" '{ d = $1 - m; print (d < 0 ? -d : d) }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR < 2) { print "NA"; exit }
			mad = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f", 1.25 * 1.4826 * mad / sqrt(NR) }')

	echo
	echo "== isol benchmarks, $(date '+%Y-%m-%d %H:%M:%S %Z') =="
	echo "machine: nproc $(nproc), kernel $(uname -r), $(nft --version 2>&1 | head -n1)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo);" \
		"load avg $(cut -d' ' -f1-3 /proc/loadavg); state dir on" \
		"$(df -T "$TMP" 2>/dev/null | awk 'NR == 2 { print $2 " " $1 }')"
	echo "every baseline below was measured in this same run, interleaved with the isol figure"
	echo
	# shellcheck disable=SC2059
	printf "$ROWFMT" "figure" "isol" "baseline (this run)" "goal" "result"
	printf '%s\n' "$(printf '%.0s-' $(seq 127))"

	echo "1. one isolation over an open control connection, $(get rpc.rpc_n) requests"
	row "   request->reply p50, journal fsync incl." "$(f0 "$rp50") us" \
		"fsync of a 100 B append p50 $(f0 "$fp50") us" "<= 300 us" \
		"$(ok 'v <= 300' v="$rp50")"
	row "   request->reply p99" "$(f0 "$rp99") us" \
		"fsync of a 100 B append p99 $(f0 "$fp99") us" "<= 1000 us" \
		"$(ok 'v <= 1000' v="$rp99")"
	row "   netlink batch p50 (agent's timing)" "$(f0 "$bp50") us" "-" "<= 50 us" \
		"$(ok 'v <= 50' v="$bp50")"
	row "   netlink batch p99 (agent's timing)" "$(f0 "$bp99") us" "-" "-" -

	echo "2. isolctl isolate as a whole process (fork+exec+wait), p50 of $(get A.isolctl_n) runs"
	row "   isolctl isolate, new target each run" "$(ms "$i50") ms" \
		"spawn true $(ms "$t50") ms" "<= true + 0.5 = $(ms "$(calc 'a + 500' a="$t50")") ms" \
		"$(ok 'i <= t + 500' i="$i50" t="$t50")"
	row "   isolctl isolate" "$(ms "$i50") ms" \
		"nft add element $(ms "$n50") ms" "<= nft / 2 = $(ms "$(calc 'a / 2' a="$n50")") ms" \
		"$(ok 'i * 2 <= n' i="$i50" n="$n50")"
	row "   same, agent holding $BULK" "$(ms "$ii50") ms" \
		"spawn true $(ms "$ti50") ms" "<= true + 0.5 = $(ms "$(calc 'a + 500' a="$ti50")") ms" \
		"$(ok 'i <= t + 500' i="$ii50" t="$ti50")"
	row "   same, agent holding $BULK" "$(ms "$ii50") ms" \
		"nft add element, $BULK in set $(ms "$nb50") ms" \
		"<= nft / 2 = $(ms "$(calc 'a / 2' a="$nb50")") ms" \
		"$(ok 'i * 2 <= n' i="$ii50" n="$nb50")"

	echo "3. $BULK isolations from one file, median of ${#APPLY_MS[@]} runs each"
	row "   isolctl apply -f, wall" "$(f0 "$apply_ms") ms" "nft -f, wall $(f0 "$nftf_ms") ms" \
		"<= nft / 2 = $(f0 "$(calc 'a / 2' a="$nftf_ms")") ms" \
		"$(ok 'a * 2 <= n' a="$apply_ms" n="$nftf_ms")"
	row "   peak memory, isolctl + agent growth" "$(mb "$isol_mem") MB" \
		"nft -f, peak RSS $(mb "$nftf_rss") MB" \
		"<= nft / 2 = $(mb "$(calc 'a / 2' a="$nftf_rss")") MB" \
		"$(ok 'a * 2 <= n' a="$isol_mem" n="$nftf_rss")"

	echo "4. packet path: TCP connect+close per second to $SRV, median of ${#CONN_with[@]} x ${CONN_SECONDS} s, interleaved"
	row "   with $BULK isolations of others" "$(f0 "$with") /s" \
		"no isolations $(f0 "$none") /s" ">= 95 % = $(f0 "$(calc 'a * 0.95' a="$none")") /s" \
		"$(ok 'w >= 0.95 * n' w="$with" n="$none")"
	row "   with/none, median of same-round ratios" "$(f1 "$pair_with") %" \
		"(noise of this median +-$noise %)" ">= -5 %" \
		"$(ok 'r >= -5' r="$pair_with")"
	echo

	echo "details:"
	echo "  1. request->reply mean $(f0 "$(get rpc.rpc_mean_us)") us, max $(f0 "$(get rpc.rpc_max_us)") us;" \
		"fsync mean $(f0 "$(get rpc.fsync_mean_us)") us, max $(f0 "$(get rpc.fsync_max_us)") us"
	echo "     over a new connection per request (as isolctl), $(get rpcc.conn_n) requests:" \
		"p50 $(f0 "$(get rpcc.conn_p50_us)") us, p99 $(f0 "$(get rpcc.conn_p99_us)") us;" \
		"fsync baseline there p50 $(f0 "$(get rpcc.fsync_p50_us)") us"
	echo "     p50 request->reply minus fsync: $(f0 "$(calc 'a - b' a="$rp50" b="$fp50")") us," \
		"minus fsync and batch: $(f0 "$(calc 'a - b - c' a="$rp50" b="$fp50" c="$bp50")") us"
	echo "  2. p50: true $(ms "$t50"), isolctl --help $(ms "$h50"), isolctl version $(ms "$v50")," \
		"isolctl isolate $(ms "$i50"), nft add element $(ms "$n50") ms;" \
		"fsync of a 100 B append between them $(f0 "$(get A.fsync_p50_us)") us"
	echo "     isolctl isolate - true = $(ms "$(calc 'a - b' a="$i50" b="$t50")") ms:" \
		"start-up (--help - true) $(ms "$(calc 'a - b' a="$h50" b="$t50")")," \
		"connect + round trip (version - --help) $(ms "$(calc 'a - b' a="$v50" b="$h50")")," \
		"the isolation (isolate - version) $(ms "$(calc 'a - b' a="$i50" b="$v50")") ms," \
		"of which fsync ~$(ms "$(get A.fsync_p50_us)") ms"
	echo "     with $BULK: true $(ms "$ti50"), --help $(ms "$(get B.help_p50_us)"), version" \
		"$(ms "$(get B.version_p50_us)"), isolate $(ms "$ii50"), nft add element $(ms "$nb50") ms," \
		"fsync $(f0 "$(get B.fsync_p50_us)") us"
	echo "     p99: true $(ms "$(get A.true_p99_us)"), isolctl isolate $(ms "$(get A.isolctl_p99_us)")," \
		"nft add element $(ms "$(get A.nft_p99_us)") ms; with $BULK: true $(ms "$(get B.true_p99_us)")," \
		"isolctl $(ms "$(get B.isolctl_p99_us)"), nft $(ms "$(get B.nft_p99_us)") ms"
	echo "     peak RSS: true $(get A.true_rss_p50_kb) kB, isolctl isolate $(get A.isolctl_rss_p50_kb) kB," \
		"nft add element $(get A.nft_rss_p50_kb) kB"
	echo "  3. apply -f runs: $(list "${APPLY_MS[@]}") ms; nft -f runs: $(list "${NFTF_MS[@]}") ms;" \
		"rollback --all: $(list "${ROLLBACK_MS[@]}") ms"
	echo "     isolctl apply peak RSS $(mb "$ctl_rss") MB; agent VmHWM $(mb "$(get agent.hwm0)") ->" \
		"$(mb "$(get agent.hwm1)") MB (growth $(mb "$growth") MB); agent VmRSS" \
		"$(mb "$(get agent.rss0)") before, $(mb "$(get agent.rss1)") after apply," \
		"$(mb "$(get agent.rss2)") MB after rollback --all"
	echo "     nft -f peak RSS runs: $(list "${NFTF_RSS[@]}") kB"
	local k cu=() cs=() nu=() ns=()
	for k in "${!APPLY_MS[@]}"; do
		cu+=("$(get "apply$k.run_user_ms")") cs+=("$(get "apply$k.run_sys_ms")")
	done
	for k in "${!NFTF_MS[@]}"; do
		nu+=("$(get "nftf$k.run_user_ms")") ns+=("$(get "nftf$k.run_sys_ms")")
	done
	echo "     CPU per run, medians: agent user $(f0 "$(median "${APPLY_AUSER[@]}")") ms +" \
		"system (kernel) $(f0 "$(median "${APPLY_ASYS[@]}")") ms, isolctl user" \
		"$(f0 "$(median "${cu[@]}")") + sys $(f0 "$(median "${cs[@]}")") ms;" \
		"nft -f user $(f0 "$(median "${nu[@]}")") + sys $(f0 "$(median "${ns[@]}")") ms"
	# the agent's own account of each apply: the whole, and its kernel batch
	echo "     the agent's account of each apply (its log):" \
		"$(grep -o 'applied in [0-9]* ms, the kernel.s batch [0-9.]* ms' "$TMP/a2.log" 2>/dev/null |
			awk '{ printf "%s%s ms (kernel %s ms)", (NR > 1 ? ", " : ""), $3, $8 }')"
	echo "     reference, 1 run: nft -f of the same targets shaped like the agent's elements" \
		"(counter and comment on each): wall $(ms "$(get shaped.run_p50_us)") ms," \
		"peak RSS $(mb "$(get shaped.run_rss_max_kb)") MB, user $(f0 "$(get shaped.run_user_ms)")" \
		"+ sys $(f0 "$(get shaped.run_sys_ms)") ms"
	echo "  4. conn/s with $BULK: $(list "${CONN_with[@]}"); none: $(list "${CONN_none[@]}");" \
		"no isol table at all: $(list "${CONN_bare[@]}")"
	echo "     agent CPU during the samples (ms): with $(list "${CPU_with[@]}");" \
		"none $(list "${CPU_none[@]}")"
	echo "     with vs none: $(f1 "$(calc '(w / n - 1) * 100' w="$with" n="$none")") % (medians)," \
		"same-round ratios: $(list "${pw[@]}") %"
	echo "     none vs no table: $(f1 "$(calc '(n / b - 1) * 100' n="$none" b="$bare")") % (medians)," \
		"$(f1 "$pair_none") % (median of same-round ratios)"
	echo "     client CPU per connection, medians: with $(f1 "$(median "${CCPU_with[@]}")") us," \
		"none $(f1 "$(median "${CCPU_none[@]}")") us, no table $(f1 "$(median "${CCPU_bare[@]}")") us"
	if [ ${#ERRORS[@]} -gt 0 ]; then
		echo "errors:"
		printf '  %s\n' "${ERRORS[@]}"
	fi
}

# ---- main ------------------------------------------------------------------------------

main() {
	local t0
	t0=$(now_us)
	preflight
	say "isol bench on nproc $(nproc), kernel $(uname -r), $(nft --version 2>&1 | head -n1)"
	build_bench
	TMP=$(mktemp -d /tmp/isolbench.XXXXXX)
	chmod 0755 "$TMP"
	stage_bins
	pair_up "$NSA" "$NSB"
	pair_up "$NSC" "$NSD"
	pair_up "$NSE" "$NSF"
	make_bulk_files

	# 1 and 2 on one agent; the scratch set starts empty
	test_agent a1
	bench_rpc
	bench_table_new || err "cannot create the scratch table inet bench"
	bench_spawn A 10.201
	stop_test_agent
	bench_table_del

	# 3 on a fresh agent; it keeps BULK isolations for 4, and the last nft -f
	# leaves BULK elements in the scratch set for the second half of 2
	test_agent a2
	bench_bulk
	start_agent none "$NSC"
	NONE_PID=$STARTED_PID
	bench_path
	bench_spawn B 10.202

	report
	echo "(bench took $((($(now_us) - t0) / 1000000)) s)"
	[ ${#ERRORS[@]} -eq 0 ] || return 1
	if [ -n "${BENCH_STRICT:-}" ]; then
		local v
		for v in "${VERDICTS[@]}"; do
			[ "$v" = PASS ] || return 1
		done
	fi
	return 0
}

main "$@"
