/* main.c - isolctl: global options, the verb keyword table, dispatch, exit.
 * The only file of isolctl that decides the process's exit status. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "isol/wire.h"

struct verb {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *usage;   /* after "isolctl " */
	const char *summary; /* one line for the command list */
	const char *help;    /* options and examples */
};

#define TARGET_HELP                                                                                \
	"TARGET:\n"                                                                                \
	"  ADDR              10.0.0.5, 2001:db8::5       every protocol and port\n"                \
	"  ADDR:PORT         10.0.0.5:5672               a port means tcp unless a\n"              \
	"                                                protocol follows\n"                       \
	"  ADDR:LO-HI        10.0.0.5:8000-8099          a port range\n"                           \
	"  PREFIX/LEN        10.0.0.0/24, 2001:db8::/64  a whole network\n"                        \
	"  PREFIX/LEN:PORT   10.0.0.0/24:443\n"                                                    \
	"  .../tcp .../udp .../sctp                      the protocol: 10.0.0.5:53/udp,\n"         \
	"                                                10.0.0.5/udp (every udp port)\n"          \
	"  IPv6 goes in brackets when a port follows: [2001:db8::5]:5672,\n"                       \
	"  [2001:db8::/64]:443/udp. Host bits under a prefix are an error (10.0.0.5/24).\n"

#define DUR_HELP "\nDUR: a number and a unit, ms s m h d, combinable: 500ms 30s 10m 2h 1d 1h30m\n"

static const struct verb verbs[] = {
    {"isolate", ctl_verb_isolate, "isolate TARGET [options]",
     "reject (or drop) the traffic of a faulty component",
     "Stop traffic between this host and TARGET: callers get a TCP reset or ICMP\n"
     "admin-prohibited (reject, the default) and fail fast instead of hanging.\n"
     "\n"
     "Options:\n"
     "  --direction out|in|fwd|all  out: this host calling TARGET (default);\n"
     "                              in: callers reaching TARGET here; fwd: routed or\n"
     "                              container traffic; a list like out,in works too\n"
     "  --mode reject|drop          reject (default) fails callers fast; drop is silent\n"
     "  --ttl DUR                   lift the isolation by itself after DUR\n"
     "  --reason TEXT               why, for list, show and the journal (one line)\n"
     "  --dry-run                   have the kernel check the change, commit nothing\n"
     "  --force                     allow a protected target (loopback, the default\n"
     "                              gateway, your SSH session, configured extras)\n"
     "\n" TARGET_HELP DUR_HELP "\n"
     "Examples:\n"
     "  isolctl isolate 10.0.0.5:5672 --ttl 30m --reason \"rabbitmq stuck\"\n"
     "  isolctl isolate 10.0.0.0/24 --direction all --mode drop --ttl 1h\n"
     "  isolctl isolate [2001:db8::5]:53/udp --ttl 10m\n"
     "  isolctl isolate 10.0.0.5:8000-8099 --dry-run\n"},
    {"steer", ctl_verb_isolate, "steer TARGET --to ADDR[:PORT] [options]",
     "send new connections for TARGET to a backup or fallback (DNAT)",
     "New connections from this host (and routed ones) to TARGET go to ADDR[:PORT]\n"
     "instead (nftables DNAT). NAT decides on a connection's first packet, so\n"
     "established connections stay where they are unless --kill-flows.\n"
     "Before anything changes, the agent connects to the backup (bypassing isol's\n"
     "own rules) and refuses if it does not answer.\n"
     "\n"
     "Options:\n"
     "  --to ADDR[:PORT]  the backup; without a port, the target's own port\n"
     "  --kill-flows      also cut established connections to TARGET (conntrack), so\n"
     "                    they reconnect to the backup\n"
     "  --no-check        steer even if the backup does not answer now\n"
     "  --ttl DUR --reason TEXT --dry-run --force   as for isolate\n"
     "\nTARGET: ADDR:PORT[/tcp|/udp] (one port), or ADDR (every port; needs --no-check)\n"
     DUR_HELP "\n"
     "Examples:\n"
     "  isolctl steer 10.0.0.5:5672 --to 10.0.0.6 --ttl 30m --reason \"failover\"\n"
     "  isolctl steer 10.0.0.5:80 --to 10.0.0.9:8080 --kill-flows\n"
     "  isolctl steer [2001:db8::5]:443 --to [2001:db8::6]:443\n"},
    {"pin", ctl_verb_isolate, "pin HOSTNAME ADDR [options]",
     "make HOSTNAME resolve to ADDR on this host (hosts file)",
     "Write HOSTNAME ADDR into isol's block of the hosts file (isolagent\n"
     "--hosts-file, default /etc/hosts). Everything outside the block is kept byte\n"
     "for byte; the file is replaced atomically. A hostname is pinned once.\n"
     "\n"
     "Options:\n"
     "  --check-port PORT  refuse unless ADDR answers on PORT now\n"
     "  --ttl DUR --reason TEXT --dry-run   as for isolate\n"
     DUR_HELP "\n"
     "Examples:\n"
     "  isolctl pin mq.internal 10.0.0.6 --check-port 5672 --ttl 1h\n"
     "  isolctl pin db.internal 2001:db8::7\n"},
    {"route", ctl_verb_isolate,
     "route PREFIX via GW [dev IF] | blackhole | unreachable | prohibit [options]",
     "send a prefix through another gateway, or nowhere",
     "Add a route for PREFIX with isol's own protocol number (so isol only ever\n"
     "deletes its own routes). A route that would take the place of an existing one\n"
     "(same prefix, table and metric) is refused, showing it, unless --replace:\n"
     "then the old route is journaled and put back on rollback. If another tool\n"
     "deletes isol's route, the agent adds it back.\n"
     "\n"
     "Options:\n"
     "  --metric N   the route's metric (priority)\n"
     "  --replace    take the place of an existing route (restored on rollback)\n"
     "  --ttl DUR --reason TEXT --dry-run --force   as for isolate\n"
     DUR_HELP "\n"
     "Examples:\n"
     "  isolctl route 10.9.0.0/24 via 10.0.0.2 --ttl 2h --reason \"gw1 flapping\"\n"
     "  isolctl route 10.9.0.0/24 via 10.0.0.2 dev eth1 --metric 5\n"
     "  isolctl route 2001:db8:9::/48 blackhole\n"},
    {"health", ctl_verb_health, "health",
     "each watched target: state, last result, counts, hold, refusals",
     "One line per target of the policies: its state (up, suspect, acted, probation,\n"
     "up-recent, down, not-ready), the last probe result, consecutive failures and\n"
     "passes, the hold-down level and time left, and why an automatic action was\n"
     "refused (guard rails, freeze, rate limit, a person's rollback).\n"
     "\n"
     "Example:\n"
     "  isolctl health\n"},
    {"probe", ctl_verb_probe, "probe TARGET [--type tcp|http|https|icmp]...",
     "one-shot diagnosis from this host: ping, port, HTTP status, timings",
     "Probe TARGET now, from this host and around isol's own rules (the probe\n"
     "carries isol's mark): icmp, plus tcp and http when TARGET has a port, unless\n"
     "--type says which. The first question of any incident.\n"
     "\n"
     "Examples:\n"
     "  isolctl probe 10.0.0.5:5672\n"
     "  isolctl probe 10.0.0.7:443 --type https\n"},
    {"watch", ctl_verb_watch, "watch [--backlog N] [--types LIST]",
     "the agent's events as they happen: actions, refusals, health changes",
     "Print every event of the agent as it happens, one line each: actions applied\n"
     "and removed (by whom, what they stopped), refusals (protected targets, guard\n"
     "rails, permissions), health changes of watched targets with the probe's error,\n"
     "policy reloads, pauses, escalations. Runs until Ctrl-C. With --json, one event\n"
     "object per line (seq, ts_ms, time, type, message and the details), for scripts.\n"
     "\n"
     "Options:\n"
     "  --backlog N     first the last N events (up to 1024)\n"
     "  --types LIST    only these: applied,removed,refused,health,policy,paused,\n"
     "                  resumed,escalation,agent\n"
     "\n"
     "Examples:\n"
     "  isolctl watch --backlog 20\n"
     "  isolctl watch --json --types applied,removed | jq -r .message\n"},
    {"report", ctl_verb_report, "report [--since DUR]",
     "the story of an incident: what failed, what was done, by whom, how long",
     "From the agent's events file (in its state directory): the probe failures,\n"
     "every action applied or removed with who did it, when, for how long and how\n"
     "many packets it stopped, the refusals, then the whole timeline. For the\n"
     "post-incident review. --since defaults to 24h.\n"
     DUR_HELP "\n"
     "Examples:\n"
     "  isolctl report --since 2h\n"
     "  isolctl report --since 1d --json | jq '.events[] | select(.type == \"applied\")'\n"},
    {"pause", ctl_verb_pause, "pause", "no automatic actions (maintenance); probing goes on",
     "Stop the policies from acting or restoring until isolctl resume.\n"},
    {"resume", ctl_verb_pause, "resume", "automatic actions again", "End isolctl pause.\n"},
    {"policy", ctl_verb_policy, "policy list | reload | check FILE",
     "the loaded policies; reload them; validate a file",
     "list: the policies the agent runs. reload: read the policy directory again,\n"
     "all files or none (an error keeps the running policies; every error is shown\n"
     "as FILE:LINE:COL: message). check FILE: validate a file without loading it.\n"
     "\n"
     "Examples:\n"
     "  isolctl policy check /etc/isol/policies.d/rabbitmq.yaml\n"
     "  isolctl policy reload\n"},
    {"list", ctl_verb_list, "list", "the active actions, with age, remaining TTL and hits",
     "One line per active action: ID KIND TARGET DIR MODE AGE TTL ORIGIN ACTOR HITS\n"
     "REASON. TTL is the time left (- when the action has none), HITS the packets it\n"
     "stopped.\n"
     "\n"
     "Examples:\n"
     "  isolctl list\n"
     "  isolctl list --json | jq '.actions[] | select(.origin == \"cli\") | .id'\n"},
    {"show", ctl_verb_show, "show ID", "every field of one action",
     "Print every field of action ID (the first column of isolctl list).\n"
     "\n"
     "Example:\n"
     "  isolctl show 7\n"},
    {"restore", ctl_verb_restore, "restore ID|TARGET", "undo one action, or all on a target",
     "Undo action ID, or every action whose target is TARGET (written as it was\n"
     "isolated: 10.0.0.5:5672 and 10.0.0.5:5672/tcp are the same target).\n"
     "\n" TARGET_HELP "\n"
     "Examples:\n"
     "  isolctl restore 7\n"
     "  isolctl restore 10.0.0.5:5672\n"},
    {"rollback", ctl_verb_rollback, "rollback ID | --last | --all [--dry-run]",
     "undo by id, the most recent action, or every action",
     "Undo action ID, the most recent action (--last) or every active action (--all).\n"
     "A terminal is shown the first 20 undone and how many in all; --json lists\n"
     "every one.\n"
     "\n"
     "Options:\n"
     "  --dry-run   show what would be undone, change nothing\n"
     "\n"
     "Examples:\n"
     "  isolctl rollback 7\n"
     "  isolctl rollback --last\n"
     "  isolctl rollback --all --dry-run\n"},
    {"apply", ctl_verb_apply, "apply -f FILE|- [--dry-run] [--force]",
     "many actions from a file, in one transaction",
     "Apply every action of FILE (- reads standard input) in one transaction: all of\n"
     "them are in place, or none. One action per line, in the words of the command\n"
     "line; blank lines and # comments are skipped, \"double\" or 'single' quotes\n"
     "group words:\n"
     "\n"
     "  # rabbitmq cluster is down\n"
     "  isolate 10.0.0.5:5672 --ttl 30m --reason \"rabbitmq stuck\"\n"
     "  isolate 10.0.1.0/24 --direction all --mode drop\n"
     "\n"
     "Every line is checked before anything is applied: each bad line is reported\n"
     "as FILE:LINE: message, and then nothing is. A comment may hold any bytes; an\n"
     "action's line must be UTF-8.\n"
     "\n"
     "Options:\n"
     "  -f FILE     the file (also --file FILE); - for standard input\n"
     "  --dry-run   have the kernel check the whole batch, commit nothing\n"
     "  --force     allow protected targets on every line (or put --force on a line)\n"
     "\n" TARGET_HELP DUR_HELP "\n"
     "Examples:\n"
     "  isolctl apply -f incident.txt\n"
     "  generate-targets | isolctl apply -f - --dry-run\n"},
    {"status", ctl_verb_status, "status", "the agent: version, uptime, actions, table, journal",
     "Print the agent's state: version, pid, uptime, number of actions, its nftables\n"
     "table and flags, state directory, journal size, netlink batch time.\n"
     "\n"
     "Example:\n"
     "  isolctl status\n"},
    {"version", ctl_verb_version, "version", "the versions of isolctl and of the agent",
     "Print isolctl's version, and the agent's when it answers. Exits 0 either way.\n"
     "\n"
     "Example:\n"
     "  isolctl version\n"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* Verb options that take a value: their value is never a global option
 * (`--reason --json` is a reason). */
static const char *const valued_opts[] = {"--ttl",  "--reason", "--direction", "--mode",
					  "-f",	    "--file",	"--backlog",   "--types",
					  "--since"};

/* Words people try; only ever suggested, never run. */
static const struct {
	const char *word, *verb;
} aliases[] = {
    {"ls", "list"},	   {"ps", "list"},	{"get", "show"},	  {"info", "status"},
    {"block", "isolate"},  {"deny", "isolate"}, {"unisolate", "restore"}, {"unblock", "restore"},
    {"undo", "rollback"},  {"rm", "restore"},	{"delete", "restore"},	  {"del", "restore"},
    {"remove", "restore"},
};

static const struct verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/* Edit distance, small strings only (verb names). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[32];

	if (la >= 31 || lb >= 31)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static const char *suggest(const char *word)
{
	size_t i, d, best = 3, wlen = strlen(word);
	const char *found = NULL;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].word, word) == 0)
			return aliases[i].verb;
	for (i = 0; i < NVERBS; i++) {
		d = distance(word, verbs[i].name);
		if (d < best) {
			best = d;
			found = verbs[i].name;
		}
	}
	if (best <= 1)
		return found;
	/* "iso", "roll": a prefix says more than a distance of 2 */
	for (i = 0; wlen >= 2 && i < NVERBS; i++)
		if (strncmp(verbs[i].name, word, wlen) == 0)
			return verbs[i].name;
	return found;
}

static void help_main(FILE *out)
{
	size_t i;

	fputs("usage: isolctl [--socket PATH] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Tell isolagent, this host's incident-response agent, to isolate a faulty\n"
	      "component in nftables, and to undo it.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (i = 0; i < NVERBS; i++)
		fprintf(out, "  %-40s %s\n", verbs[i].usage, verbs[i].summary);
	fprintf(out, "  %-40s %s\n", "help COMMAND", "options and examples of one command");
	fputs("\n"
	      "Global options (before or after the command):\n"
	      "  --socket PATH   the agent's socket (else $ISOL_SOCKET, else " ISOL_DEFAULT_SOCKET
	      ")\n"
	      "  --json          print the agent's JSON response instead of text\n"
	      "  -h, --help      this help; isolctl COMMAND --help for one command\n"
	      "  --version       isolctl's version (isolctl version asks the agent too)\n"
	      "\n" TARGET_HELP DUR_HELP "\n"
	      "Examples:\n"
	      "  isolctl isolate 10.0.0.5:5672 --ttl 30m --reason \"rabbitmq stuck\"\n"
	      "  isolctl isolate [2001:db8::5]:443 --direction all --mode drop --ttl 1h30m\n"
	      "  isolctl list\n"
	      "  isolctl restore 10.0.0.5:5672\n"
	      "  isolctl rollback --last\n"
	      "  isolctl apply -f incident.txt --dry-run\n"
	      "\n"
	      "Exit status: 0 done, 1 refused or failed, 2 usage error, 3 agent unreachable.\n",
	      out);
}

static void help_verb(FILE *out, const struct verb *v)
{
	fprintf(out, "usage: isolctl %s\n\n%s", v->usage, v->help);
	fputs("\nGlobal options: --socket PATH, --json (see isolctl --help).\n", out);
}

static bool takes_value(const char *a)
{
	size_t i;

	for (i = 0; i < sizeof(valued_opts) / sizeof(valued_opts[0]); i++)
		if (strcmp(a, valued_opts[i]) == 0)
			return true;
	return false;
}

/* The first field of $SSH_CONNECTION ("client_ip client_port server_ip
 * server_port") when it is an address: the agent protects it. */
static const char *ssh_peer(char *buf, size_t len)
{
	const char *env = getenv("SSH_CONNECTION");
	unsigned char addr[16];
	size_t n;
	char *pct;

	if (env == NULL)
		return NULL;
	n = strcspn(env, " ");
	if (n == 0 || n >= len)
		return NULL;
	memcpy(buf, env, n);
	buf[n] = '\0';
	pct = strchr(buf, '%'); /* fe80::1%eth0: the zone is not part of the address */
	if (pct)
		*pct = '\0';
	if (inet_pton(AF_INET, buf, addr) != 1 && inet_pton(AF_INET6, buf, addr) != 1)
		return NULL;
	return buf;
}

int main(int argc, char **argv)
{
	struct ctl ctl = {.out = stdout, .err = stderr};
	const char *socket_opt = NULL;
	bool help = false, version = false;
	const struct verb *v;
	char peer[64];
	int i, n = 0, rc;

	/* Global options may stand anywhere; the rest is compacted in place
	 * into argv[0..n) = the verb and its words. */
	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (n > 0 && takes_value(a) && i + 1 < argc) {
			argv[n++] = a;
			argv[n++] = argv[++i];
		} else if (strcmp(a, "--json") == 0) {
			ctl.json = true;
		} else if (strcmp(a, "--socket") == 0) {
			if (i + 1 >= argc)
				return ctl_fail(&ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
						"option '--socket' needs a value (the agent's unix "
						"socket path)");
			socket_opt = argv[++i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			socket_opt = a + 9;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help = true;
		} else if (strcmp(a, "--version") == 0) {
			version = true;
		} else if (n == 0 && a[0] == '-' && a[1] != '\0') {
			return ctl_fail(
			    &ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
			    "unknown option '%s' before the command (global options: "
			    "--socket PATH, --json, --help, --version; see isolctl --help)",
			    a);
		} else {
			argv[n++] = a;
		}
	}
	if (socket_opt && *socket_opt == '\0')
		return ctl_fail(&ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, "--socket: empty path");

	if (version && !help) {
		printf("isolctl %s\n", ISOL_VERSION);
		return CTL_EXIT_OK;
	}
	if (n == 0) {
		if (help) {
			help_main(stdout);
			return CTL_EXIT_OK;
		}
		fputs("usage: isolctl [--socket PATH] [--json] COMMAND [ARGS]\n"
		      "commands: isolate list show restore rollback apply status version help\n",
		      stderr);
		return ctl_fail(&ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
				"missing command (see isolctl --help)");
	}
	if (strcmp(argv[0], "help") == 0) {
		if (n == 1) {
			help_main(stdout);
			return CTL_EXIT_OK;
		}
		v = find_verb(argv[1]);
		if (v == NULL)
			return ctl_fail(&ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
					"no help for '%s': not a command (see isolctl --help)",
					argv[1]);
		help_verb(stdout, v);
		return CTL_EXIT_OK;
	}
	v = find_verb(argv[0]);
	if (v == NULL) {
		const char *s = suggest(argv[0]);

		if (s)
			return ctl_fail(&ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
					"unknown command '%s'; did you mean '%s'? (see isolctl "
					"--help)",
					argv[0], s);
		return ctl_fail(&ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
				"unknown command '%s' (see isolctl --help)", argv[0]);
	}
	if (help) {
		help_verb(stdout, v);
		return CTL_EXIT_OK;
	}

	ctl.socket = isol_socket_path(socket_opt);
	ctl.pretty = ctl.json && isatty(STDOUT_FILENO);
	ctl.ssh_peer = ssh_peer(peer, sizeof(peer));
	argv[n] = NULL;
	rc = v->run(&ctl, n, argv);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "isolctl: writing the output failed\n");
		if (rc == CTL_EXIT_OK)
			rc = CTL_EXIT_FAILED;
	}
	return rc;
}
