/* probectl - drive the agent's probe module from the real-kernel tests.
 *
 *   probectl [OPTIONS] TARGET                   one probe: "STATUS MS ms[: REASON]"
 *   probectl [OPTIONS] --type exec [--target TARGET] -- CMD [ARG...]
 *   probectl [OPTIONS] --diagnose TARGET        icmp, tcp, http at once, one line each
 *   probectl --bench N [--interval MS] [--warmup S] [--duration S] TARGET
 *
 * OPTIONS: --type tcp|http|https|icmp|exec (default tcp), --timeout MS,
 * --mark HEX (default the agent's, 0 = none), --path P, --host H,
 * --expect RANGES, --insecure, --ca-file F, --json (the result as JSON),
 * --exhaust-fds (use up every file descriptor, then probe; http(s) probes
 * once before, so that libcurl is set up and the probe's own socket fails).
 *
 * TARGET is the isolctl syntax: 10.77.0.2:8001, [fd77::2]:8001, 10.77.0.2.
 *
 * --bench runs N tcp probes every --interval (default 1000) ms, target i at
 * TARGET's address + i / P, port lo + i % P (P ports of TARGET's range), each
 * at its own random phase; after --warmup (2) s it measures --duration (10) s
 * and prints the probes per second, the outcomes, and this process's CPU time
 * (getrusage: user + system) per wall second.
 *
 * Exit codes: 0 pass, 1 fail, 2 neutral, 3 start refused, 64 usage. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "isol/target.h"
#include "nft.h"
#include "probe.h"

struct one {
	bool done;
	enum probe_type type;
	struct probe_result res;
	struct probe_diag diag;
};

static void usage(void)
{
	fprintf(stderr, "usage: probectl [--type T] [--timeout MS] [--mark HEX] [--path P] "
			"[--host H] [--expect RANGES]\n"
			"                [--insecure] [--ca-file F] [--json] [--exhaust-fds] "
			"TARGET\n"
			"       probectl [OPTIONS] --type exec [--target TARGET] -- CMD [ARG...]\n"
			"       probectl [OPTIONS] --diagnose TARGET\n"
			"       probectl --bench N [--interval MS] [--warmup S] [--duration S] "
			"TARGET\n");
	exit(64);
}

static void one_done(const struct probe_result *res, void *data)
{
	struct one *o = data;

	o->res = *res;
	o->done = true;
}

static void diag_done(const struct probe_diag *d, void *data)
{
	struct one *o = data;

	o->diag = *d;
	o->done = true;
}

static int exit_code(enum probe_status s)
{
	return s == PROBE_PASS ? 0 : s == PROBE_FAIL ? 1 : 2;
}

/* Run one probe to its end. 0, or 3 when it would not start. */
static int run_one(struct ev_loop *loop, struct prober *pr, const struct probe_opts *po,
		   struct one *o)
{
	struct isol_err err = {0};

	o->done = false;
	o->type = po->type;
	if (probe_start(pr, po, one_done, o, &err) == NULL) {
		printf("error %s\n", err.msg[0] ? err.msg : strerror(errno));
		return 3;
	}
	while (!o->done)
		ev_run(loop, EVRUN_ONCE);
	return 0;
}

static void exhaust_fds(void)
{
	while (dup(2) != -1)
		;
}

/* ---- the benchmark ---- */

struct bench_target {
	struct bench *b;
	struct probe_opts opts;
	ev_timer tick;
	bool busy;
};

struct bench {
	struct ev_loop *loop;
	struct prober *pr;
	struct bench_target *t;
	long n;
	bool measuring;
	unsigned long counts[__PROBE_STATUS_MAX], started, refused, skipped;
	char first_fail[PROBE_REASON_MAX];
};

static void bench_done(const struct probe_result *res, void *data)
{
	struct bench_target *t = data;
	struct bench *b = t->b;

	t->busy = false;
	if (!b->measuring)
		return;
	b->counts[res->status]++;
	if (res->status != PROBE_PASS && b->first_fail[0] == '\0')
		snprintf(b->first_fail, sizeof(b->first_fail), "%s", res->reason);
}

static void bench_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench_target *t = w->data;
	struct bench *b = t->b;

	if (t->busy) { /* still running from the last tick */
		b->skipped += b->measuring;
		return;
	}
	if (probe_start(b->pr, &t->opts, bench_done, t, NULL) == NULL) {
		b->refused++;
		return;
	}
	t->busy = true;
	b->started += b->measuring;
}

static void bench_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(struct ev_loop *loop, struct prober *pr, const struct probe_opts *base,
		 const struct isol_target *tg, long n, double interval, double warmup,
		 double duration)
{
	struct bench b = {.loop = loop, .pr = pr, .n = n};
	unsigned nports = (unsigned)tg->port_hi - tg->port_lo + 1;
	struct rusage r0, r1;
	ev_timer stop;
	double w0, w1, cpu, user, sys;
	long i;

	b.t = calloc((size_t)n, sizeof(*b.t));
	if (b.t == NULL)
		return 3;
	srand48((long)getpid());
	for (i = 0; i < n; i++) {
		struct bench_target *t = &b.t[i];
		uint32_t a4;

		t->b = &b;
		t->opts = *base;
		t->opts.type = PROBE_TCP;
		t->opts.port = (uint16_t)(tg->port_lo + (unsigned)i % nports);
		if (tg->family == AF_INET) {
			memcpy(&a4, tg->addr, 4);
			a4 = htonl(ntohl(a4) + (uint32_t)(i / nports));
			memcpy(t->opts.addr, &a4, 4);
		} else {
			t->opts.addr[15] = (uint8_t)(t->opts.addr[15] + i / nports);
			t->opts.addr[14] = (uint8_t)(t->opts.addr[14] + (i / nports) / 256);
		}
		ev_timer_init(&t->tick, bench_tick, drand48() * interval, interval);
		t->tick.data = t;
		ev_timer_start(loop, &t->tick);
	}
	ev_timer_init(&stop, bench_stop, warmup, 0.0);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);

	b.measuring = true;
	getrusage(RUSAGE_SELF, &r0);
	w0 = mono_s();
	ev_timer_set(&stop, duration, 0.0);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	getrusage(RUSAGE_SELF, &r1);
	w1 = mono_s();

	user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
	sys = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
	cpu = (user + sys) / (w1 - w0);
	printf("bench targets %ld interval %.0f ms window %.2f s: probes %lu (%.0f/s) pass %lu "
	       "fail %lu neutral %lu skipped %lu refused %lu\n",
	       n, interval * 1e3, w1 - w0, b.started, (double)b.started / (w1 - w0),
	       b.counts[PROBE_PASS], b.counts[PROBE_FAIL], b.counts[PROBE_NEUTRAL], b.skipped,
	       b.refused);
	printf("bench cpu user %.3f s sys %.3f s per wall s: %.1f %% of one core, %.1f us per "
	       "probe, max rss %ld KiB\n",
	       user / (w1 - w0), sys / (w1 - w0), cpu * 100,
	       b.started ? (user + sys) * 1e6 / (double)b.started : 0.0, r1.ru_maxrss);
	if (b.first_fail[0])
		printf("bench first failure: %s\n", b.first_fail);
	for (i = 0; i < n; i++)
		ev_timer_stop(loop, &b.t[i].tick);
	prober_free(pr); /* the running probes go before their targets */
	free(b.t);
	return b.counts[PROBE_FAIL] || b.counts[PROBE_NEUTRAL] ? 1 : 0;
}

/* ---- main ---- */

static unsigned parse_types(const char *s)
{
	char buf[128], *tok, *save = NULL;
	unsigned types = 0;
	enum probe_type t;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (probe_type_parse(tok, &t) < 0)
			usage();
		types |= 1u << t;
	}
	return types;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"type", required_argument, NULL, 't'},	{"timeout", required_argument, NULL, 'T'},
	    {"mark", required_argument, NULL, 'm'},	{"path", required_argument, NULL, 'p'},
	    {"host", required_argument, NULL, 'H'},	{"expect", required_argument, NULL, 'e'},
	    {"insecure", no_argument, NULL, 'k'},	{"ca-file", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},		{"exhaust-fds", no_argument, NULL, 'x'},
	    {"target", required_argument, NULL, 'g'},	{"diagnose", no_argument, NULL, 'd'},
	    {"types", required_argument, NULL, 'y'},	{"bench", required_argument, NULL, 'b'},
	    {"interval", required_argument, NULL, 'i'}, {"warmup", required_argument, NULL, 'w'},
	    {"duration", required_argument, NULL, 'D'}, {NULL, 0, NULL, 0},
	};
	struct probe_opts po = {.type = PROBE_TCP};
	struct probe_ranges expect;
	struct isol_target tg = {0};
	struct isol_err err = {0};
	const char *target = NULL;
	uint32_t mark = ISOL_DEFAULT_MARK;
	bool json = false, exhaust = false, diag = false, have_target = false;
	long nbench = 0;
	double interval = 1.0, warmup = 2.0, duration = 10.0;
	unsigned types = 0;
	struct ev_loop *loop;
	struct prober *pr;
	struct one o = {0};
	char line[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (probe_type_parse(optarg, &po.type) < 0)
				usage();
			break;
		case 'T':
			po.timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			mark = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		case 'p':
			po.path = optarg;
			break;
		case 'H':
			po.host = optarg;
			break;
		case 'e':
			if (probe_ranges_parse(optarg, &expect, &err) < 0) {
				fprintf(stderr, "probectl: %s\n", err.msg);
				return 64;
			}
			po.expect = &expect;
			break;
		case 'k':
			po.insecure = true;
			break;
		case 'c':
			po.ca_file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'x':
			exhaust = true;
			break;
		case 'g':
			target = optarg;
			break;
		case 'd':
			diag = true;
			break;
		case 'y':
			types = parse_types(optarg);
			break;
		case 'b':
			nbench = strtol(optarg, NULL, 10);
			if (nbench <= 0)
				usage();
			break;
		case 'i':
			interval = strtod(optarg, NULL) / 1e3;
			break;
		case 'w':
			warmup = strtod(optarg, NULL);
			break;
		case 'D':
			duration = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (po.type == PROBE_EXEC) {
		if (optind >= argc)
			usage();
		po.argv = (const char *const *)(argv + optind);
	} else {
		if (optind != argc - 1)
			usage();
		target = argv[optind];
	}
	if (target) {
		if (isol_target_parse(target, &tg, &err) < 0) {
			fprintf(stderr, "probectl: %s\n", err.msg);
			return 64;
		}
		have_target = true;
		po.family = tg.family;
		memcpy(po.addr, tg.addr, sizeof(po.addr));
		po.port = isol_target_has_port(&tg) ? tg.port_lo : 0;
	}

	loop = ev_default_loop(EVFLAG_AUTO);
	pr = prober_new(loop, mark);
	if (pr == NULL) {
		fprintf(stderr, "probectl: prober_new: %s\n", strerror(errno));
		return 3;
	}
	if (nbench) {
		if (!have_target || !isol_target_has_port(&tg))
			usage();
		return bench(loop, pr, &po, &tg, nbench, interval, warmup, duration);
	}
	if (diag) {
		if (probe_diagnose(pr, &po, types, diag_done, &o, &err) == NULL) {
			printf("error %s\n", err.msg);
			return 3;
		}
		while (!o.done)
			ev_run(loop, EVRUN_ONCE);
		struct strbuf sb;

		strbuf_init(&sb);
		probe_diag_format(&o.diag, &sb);
		fputs(sb.buf ? sb.buf : "", stdout);
		strbuf_fini(&sb);
		prober_free(pr);
		return 0;
	}
	if (exhaust && (po.type == PROBE_HTTP || po.type == PROBE_HTTPS))
		run_one(loop, pr, &po, &o);
	if (exhaust)
		exhaust_fds();
	rc = run_one(loop, pr, &po, &o);
	if (rc == 0) {
		if (json) {
			struct strbuf sb;

			strbuf_init(&sb);
			probe_result_json(po.type, &o.res, &sb);
			printf("%s\n", sb.buf ? sb.buf : "");
			strbuf_fini(&sb);
		} else {
			probe_result_format(po.type, &o.res, line, sizeof(line));
			printf("%s\n", line);
		}
		rc = exit_code(o.res.status);
	}
	fflush(stdout);
	prober_free(pr);
	return rc;
}
