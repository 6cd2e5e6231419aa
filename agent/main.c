/* main.c - isolagent: arguments, wiring, the event loop. The one place that
 * may exit. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "agent.h"
#include "isol/duration.h"
#include "isol/wire.h"
#include "log.h"
#include "policy_parse.h"
#include "supervise.h"
#include "verbs.h"

#define DEFAULT_STATE_DIR "/var/lib/isol"
#define DEFAULT_POLICIES "/etc/isol/policies.d"
#define DEFAULT_ESCALATE_MS (60 * 60 * 1000ull) /* an hour in force: ask a person */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: isolagent [OPTIONS]\n"
		"The isol agent: owns the nftables table `inet isol` and applies the isolations\n"
		"that isolctl asks for, atomically, durably (journal) and reversibly.\n"
		"\n"
		"Options:\n"
		"  --socket PATH       control socket (default $ISOL_SOCKET or %s)\n"
		"  --state-dir DIR     journal and lock (default %s)\n"
		"  --hosts-file PATH   hosts file for pins (default /etc/hosts; used by `pin`)\n"
		"  --policies DIR      policy files (*.yaml) for automatic actions\n"
		"                      (default %s; missing = none)\n"
		"  --check-config      validate the policies (every error as file:line:col) and exit\n"
		"  --admin-group NAME  group that may change state (default: isol, if it exists)\n"
		"  --read-group NAME   group that may only read (default: isol-read, if it exists)\n"
		"  --protect ADDR[/LEN]  never isolate this without --force (repeatable);\n"
		"                      loopback, default gateways and the caller's SSH client are\n"
		"                      always protected\n"
		"  --mark HEX          packet mark that exempts probes (default 0x%x)\n"
		"  --notify PATH       run PATH for every event (an action applied, removed or\n"
		"                      refused, a health change, an escalation...): the event's\n"
		"                      JSON on its stdin, ISOL_EVENT_TYPE and ISOL_EVENT_MESSAGE\n"
		"                      in its environment; killed after 10 s. For a webhook:\n"
		"                      a script running `curl -s --data-binary @- URL`\n"
		"  --notify-types LIST which events (default all): applied,removed,refused,\n"
		"                      health,policy,paused,resumed,escalation,agent\n"
		"  --escalate-after DUR  an action still in force after DUR raises an escalation\n"
		"                      event (default 1h; 0 = never)\n"
		"  --no-owner          do not use the kernel's table owner flag (old kernels)\n"
		"  --foreground, -f    stay in the foreground, log to stderr\n"
		"  --log-level LEVEL   debug, info (default), warn, error\n"
		"  --flush             remove the table and all its isolations, then exit\n"
		"                      (only when no agent runs; otherwise isolctl rollback --all)\n"
		"  --help, -h          this text\n"
		"  --version           print the version\n"
		"\n"
		"Isolations live in the kernel with their TTL: they stay in force while the agent\n"
		"is stopped and are re-adopted when it starts.\n",
		ISOL_DEFAULT_SOCKET, DEFAULT_STATE_DIR, DEFAULT_POLICIES, ISOL_DEFAULT_MARK);
}

static gid_t group_gid(const char *name, bool required)
{
	struct group *g = getgrnam(name);

	if (g)
		return g->gr_gid;
	if (required) {
		fprintf(stderr, "isolagent: unknown group '%s'\n", name);
		exit(2);
	}
	return (gid_t)-1;
}

/* isolagent --check-config: 0 valid, 1 errors (each on stderr). */
static int check_policies(const char *dir)
{
	struct policy_errors errs;
	struct policy_set *set = NULL;
	size_t i;
	int rc;

	policy_errors_init(&errs);
	rc = policy_set_load_dir(dir, &set, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.v[i].text);
	if (rc == 0)
		printf("%s: %zu polic%s, valid\n", dir, policy_set_count(set),
		       policy_set_count(set) == 1 ? "y" : "ies");
	policy_set_free(set);
	policy_errors_fini(&errs);
	return rc == 0 ? 0 : 1;
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct isol_agent *ag = w->data;
	struct isol_err err = { 0, "" };
	struct policy_errors errs;
	size_t i;

	policy_errors_init(&errs);
	if (ag->sv && supervise_reload(ag->sv, &errs, &err) < 0) {
		log_error("SIGHUP: %s", err.msg);
		for (i = 0; i < errs.n; i++)
			log_error("%s", errs.v[i].text);
	}
	policy_errors_fini(&errs);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping (isolations stay in force)", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "hosts-file", required_argument, NULL, 'H' },
		{ "admin-group", required_argument, NULL, 'A' },
		{ "read-group", required_argument, NULL, 'R' },
		{ "protect", required_argument, NULL, 'p' },
		{ "mark", required_argument, NULL, 'm' },
		{ "no-owner", no_argument, NULL, 'O' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "flush", no_argument, NULL, 'F' },
		{ "policies", required_argument, NULL, 'P' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "notify", required_argument, NULL, 'N' },
		{ "notify-types", required_argument, NULL, 'T' },
		{ "escalate-after", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *admin_group = NULL, *read_group = NULL, *protects[64];
	struct isol_err err = { 0, "" };
	struct agent_opts o;
	struct isol_agent ag;
	struct control_opts co;
	struct ev_loop *loop;
	ev_signal sigterm, sigint, sighup;
	bool foreground = false, flush = false, check_config = false;
	const char *policies = DEFAULT_POLICIES;
	struct policy_errors perrs;
	int level = LOG_INFO, nprotect = 0, c, i;

	memset(&o, 0, sizeof(o));
	o.state_dir = DEFAULT_STATE_DIR;
	o.escalate_after_ms = DEFAULT_ESCALATE_MS;
	o.hosts_file = "/etc/hosts";
	nft_table_opts_init(&o.table);
	while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'd':
			o.state_dir = optarg;
			break;
		case 'H':
			o.hosts_file = optarg;
			break;
		case 'A':
			admin_group = optarg;
			break;
		case 'R':
			read_group = optarg;
			break;
		case 'p':
			if (nprotect == 64) {
				fprintf(stderr, "isolagent: at most 64 --protect\n");
				return 2;
			}
			protects[nprotect++] = optarg;
			break;
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 0);

			if (*optarg == '\0' || *end != '\0' || m == 0 || m > 0xffffffffu) {
				fprintf(stderr, "isolagent: bad --mark '%s' (a non-zero 32-bit number)\n",
					optarg);
				return 2;
			}
			o.table.mark = (uint32_t)m;
			break;
		}
		case 'O':
			o.table.owner = o.table.persist = false;
			break;
		case 'f':
			foreground = true;
			break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "isolagent: bad --log-level '%s' (debug, info, warn, error)\n",
					optarg);
				return 2;
			}
			break;
		case 'F':
			flush = true;
			break;
		case 'P':
			policies = optarg;
			break;
		case 'C':
			check_config = true;
			break;
		case 'N':
			if (optarg[0] != '/' || access(optarg, X_OK) != 0) {
				fprintf(stderr,
					"isolagent: --notify '%s' must be an absolute path to an "
					"executable\n",
					optarg);
				return 2;
			}
			o.notify = optarg;
			break;
		case 'T': {
			struct events *probe = events_open(NULL, NULL);
			struct isol_err terr = { 0, "" };
			int trc = probe ? events_set_notify(probe, NULL, "/bin/true", optarg, &terr)
					: -ENOMEM;

			events_close(probe);
			if (trc < 0) {
				fprintf(stderr, "isolagent: --notify-types: %s\n", terr.msg);
				return 2;
			}
			o.notify_types = optarg;
			break;
		}
		case 'E':
			if (isol_duration_parse(optarg, &o.escalate_after_ms, NULL) < 0 &&
			    strcmp(optarg, "0") != 0) {
				fprintf(stderr,
					"isolagent: bad --escalate-after '%s' (a duration: 30m, 1h, "
					"2h30m; 0 = never)\n",
					optarg);
				return 2;
			}
			if (strcmp(optarg, "0") == 0)
				o.escalate_after_ms = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("isolagent %s\n", ISOL_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'isolagent --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "isolagent: unexpected argument '%s'\nTry 'isolagent --help'.\n",
			argv[optind]);
		return 2;
	}
	o.socket_path = isol_socket_path(o.socket_path);
	o.admin_gid = admin_group ? group_gid(admin_group, true) : group_gid("isol", false);
	o.read_gid = read_group ? group_gid(read_group, true) : group_gid("isol-read", false);
	log_init(foreground || flush, level);
	o.protects = protects;
	o.nprotects = (size_t)nprotect;
	for (i = 0; i < nprotect; i++) { /* bad input: refuse before anything */
		struct protect probe;

		protect_init(&probe);
		if (protect_add(&probe, protects[i], "--protect", &err) < 0) {
			fprintf(stderr, "isolagent: --protect: %s\n", err.msg);
			protect_fini(&probe);
			return 2;
		}
		protect_fini(&probe);
	}

	if (check_config)
		return check_policies(policies);
	if (flush) {
		if (agent_flush_table(&o, &err) < 0) {
			fprintf(stderr, "isolagent: --flush: %s\n", err.msg);
			return 1;
		}
		printf("isolagent: table inet %s, isol's routes and its hosts block removed\n",
		       o.table.table);
		return 0;
	}
	if (!foreground && daemon(0, 0) == -1) {
		fprintf(stderr, "isolagent: cannot daemonize: %s\n", strerror(errno));
		return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);
	if (agent_start(&ag, loop, &o, &err) < 0) {
		log_error("cannot start: %s", err.msg);
		agent_stop(&ag);
		return 1;
	}
	co.path = o.socket_path;
	co.admin_gid = o.admin_gid;
	co.read_gid = o.read_gid;
	co.max_line = ISOL_WIRE_MAX_LINE;
	if (control_open(&ag.control, loop, &co, verbs_handle, &ag, &err) < 0) {
		log_error("cannot open the control socket: %s", err.msg);
		agent_stop(&ag);
		return 1;
	}
	policy_errors_init(&perrs);
	if (supervise_open(&ag.sv, &ag, policies, &perrs, &err) < 0) {
		size_t k;

		log_error("%s", err.msg);
		(void)k;
		policy_errors_fini(&perrs);
		agent_stop(&ag);
		return 1;
	}
	policy_errors_fini(&perrs);
	ev_signal_init(&sighup, hup_cb, SIGHUP);
	sighup.data = &ag;
	ev_signal_start(loop, &sighup);
	ev_signal_init(&sigterm, stop_cb, SIGTERM);
	ev_signal_init(&sigint, stop_cb, SIGINT);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	log_info("isolagent %s ready on %s (state %s, %zu actions)", ISOL_VERSION, o.socket_path,
		 o.state_dir, ag.actions.count);

	ev_run(loop, 0);

	agent_stop(&ag);
	return 0;
}
