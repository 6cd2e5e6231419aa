#!/usr/bin/env bash
# run.sh - run every test and print one summary.
#
#   tests/run.sh [--unit-only | --netns-only] [-v] [NAME...]
#
# Unit tests: every build/tests/test_* (cmocka; counts read from its output).
# Real-kernel tests: every tests/netns/test_*.sh (root; each prints
# "N passed, N failed" as its last line). NAME... limits the run to the tests
# whose file name contains one of the words. Each file runs under a timeout.
# The output of a file is shown when it fails (always with -v).
# The last line is "N passed, N failed"; the exit status is non-zero on any
# failure or when no test ran.
set -u

cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
NETNS_TIMEOUT=${NETNS_TIMEOUT:-150}

unit=1 netns=1 verbose=0 filters=()
for a in "$@"; do
	case $a in
	--unit-only) netns=0 ;;
	--netns-only) unit=0 ;;
	-v | --verbose) verbose=1 ;;
	-h | --help)
		sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "run.sh: unknown option $a" >&2
		exit 2
		;;
	*) filters+=("$a") ;;
	esac
done

total_pass=0 total_fail=0 files=0
LOGDIR=$(mktemp -d /tmp/isol-run.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

if [ -t 1 ]; then
	C_OK=$'\e[32m' C_BAD=$'\e[31m' C_OFF=$'\e[0m'
else
	C_OK='' C_BAD='' C_OFF=''
fi

selected() {
	[ ${#filters[@]} = 0 ] && return 0
	local f
	for f in "${filters[@]}"; do
		[[ "$1" == *"$f"* ]] && return 0
	done
	return 1
}

# result NAME PASSED FAILED SECONDS LOG
result() {
	local name=$1 p=$2 f=$3 secs=$4 log=$5 color=$C_OK
	[ "$f" != 0 ] && color=$C_BAD
	printf '%s%-28s %4d passed, %d failed%s  (%ss)\n' "$color" "$name" "$p" "$f" "$C_OFF" "$secs"
	if [ "$verbose" = 1 ] || [ "$f" != 0 ]; then
		sed 's/^/    /' "$log"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	files=$((files + 1))
}

# A test killed by its timeout may leave its namespaces (named isolc$PID /
# isols$PID by tests/netns/lib.sh) and the processes in them behind: end
# those of test shells that are gone.
sweep_namespaces() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^isol[cs][0-9]+$'); do
		pid=${ns#isol?}
		kill -0 "$pid" 2>/dev/null && continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

elapsed() { awk -v a="$1" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

# ---- unit tests (cmocka) ---------------------------------------------------------------------
if [ "$unit" = 1 ]; then
	found=0
	for bin in "$BUILD"/tests/test_*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		case $bin in *.d | *.o) continue ;; esac
		name=$(basename "$bin")
		selected "$name" || continue
		found=1
		log="$LOGDIR/$name.log"
		t0=$EPOCHREALTIME
		# cmocka's summary goes to stdout/stderr depending on the version
		CMOCKA_MESSAGE_OUTPUT=stdout timeout -k 5 "$UNIT_TIMEOUT" "$bin" >"$log" 2>&1
		rc=$?
		p=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$log")
		f=$(awk '/^\[  FAILED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$log")
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			# crashed, sanitizer report, timeout (124) or no summary at all
			echo "run.sh: $name exited with status $rc" >>"$log"
			f=1
		fi
		if [ "$rc" = 0 ] && [ "$p" = 0 ] && [ "$f" = 0 ]; then
			echo "run.sh: $name printed no cmocka summary" >>"$log"
			f=1
		fi
		result "$name" "$p" "$f" "$(elapsed "$t0")" "$log"
	done
	if [ "$found" = 0 ] && [ ${#filters[@]} = 0 ]; then
		echo "run.sh: no unit test binaries in $BUILD/tests (make units)"
	fi
fi

# ---- real-kernel tests (network namespaces) ----------------------------------------------------
if [ "$netns" = 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "run.sh: the netns tests need root"
		total_fail=$((total_fail + 1))
	else
		for t in tests/netns/test_*.sh; do
			[ -f "$t" ] || continue
			name=$(basename "$t")
			selected "$name" || continue
			log="$LOGDIR/$name.log"
			t0=$EPOCHREALTIME
			BUILD="$BUILD" timeout -k 5 "$NETNS_TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null
			rc=$?
			last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
			if [ -n "$last" ]; then
				p=${last%% *}
				f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed$/\1/' <<<"$last")
			else
				p=$(grep -c '^ok ' "$log")
				f=$(grep -c '^FAIL ' "$log")
			fi
			if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
				if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
					echo "run.sh: $name timed out after ${NETNS_TIMEOUT}s" >>"$log"
				else
					echo "run.sh: $name exited with status $rc" >>"$log"
				fi
				f=1
			fi
			sweep_namespaces
			result "$name" "$p" "$f" "$(elapsed "$t0")" "$log"
		done
	fi
fi

if [ "$files" = 0 ]; then
	echo "run.sh: no test ran"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ] && [ "$total_pass" -gt 0 ]
