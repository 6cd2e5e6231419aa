/* ctkill - drive the agent's conntrack module from the real-kernel tests.
 *
 *   ctkill TARGET                      conntrack_kill(TARGET): "deleted N MS"
 *   ctkill --fill N SRC DST DPORT      create N established TCP entries
 *                                      SRC:1024+i -> DST:DPORT: "filled N MS"
 *
 * TARGET is the isolctl syntax (10.77.0.2:8001, [fd77::2]:8001, 10.77.0.0/24).
 * An error prints "error -ERRNO MESSAGE" on stdout. MS is the wall time of
 * the call in milliseconds. Exit codes: 0 done, 1 failed, 64 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "conntrack.h"
#include "isol/target.h"

static void usage(void)
{
	fprintf(stderr, "usage: ctkill TARGET | ctkill --fill N SRC DST DPORT\n");
	exit(64);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int kill_target(const char *s)
{
	struct isol_err err = {0};
	struct isol_target t;
	double t0;
	int n;

	if (isol_target_parse(s, &t, &err) < 0) {
		printf("error %d %s\n", err.code, err.msg);
		return 1;
	}
	t0 = now_ms();
	n = conntrack_kill(&t, &err);
	if (n < 0) {
		printf("error %d %s\n", n, err.msg);
		return 1;
	}
	printf("deleted %d %.1f\n", n, now_ms() - t0);
	return 0;
}

/* The entry a TCP connection SRC:sport -> DST:dport makes, established. */
static void set_tuple(struct nf_conntrack *ct, int family, const void *src, const void *dst,
		      uint16_t sport, uint16_t dport)
{
	nfct_set_attr_u8(ct, ATTR_L3PROTO, (uint8_t)family);
	if (family == AF_INET) {
		nfct_set_attr(ct, ATTR_IPV4_SRC, src);
		nfct_set_attr(ct, ATTR_IPV4_DST, dst);
		nfct_set_attr(ct, ATTR_REPL_IPV4_SRC, dst);
		nfct_set_attr(ct, ATTR_REPL_IPV4_DST, src);
	} else {
		nfct_set_attr(ct, ATTR_IPV6_SRC, src);
		nfct_set_attr(ct, ATTR_IPV6_DST, dst);
		nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, dst);
		nfct_set_attr(ct, ATTR_REPL_IPV6_DST, src);
	}
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, (uint8_t)family);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(sport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(dport));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(dport));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 600);
}

static int fill(int argc, char **argv)
{
	uint8_t src[16], dst[16];
	struct nfct_handle *h;
	struct nf_conntrack *ct;
	long n, i, dport;
	int family;
	double t0;

	if (argc != 6)
		usage();
	n = strtol(argv[2], NULL, 10);
	dport = strtol(argv[5], NULL, 10);
	if (n <= 0 || n > 64000 || dport <= 0 || dport > 65535)
		usage();
	family = strchr(argv[3], ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, argv[3], src) != 1 || inet_pton(family, argv[4], dst) != 1)
		usage();
	h = nfct_open(CONNTRACK, 0);
	ct = nfct_new();
	if (h == NULL || ct == NULL) {
		printf("error %d nfct_open: %s\n", -errno, strerror(errno));
		return 1;
	}
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		set_tuple(ct, family, src, dst, (uint16_t)(1024 + i), (uint16_t)dport);
		if (nfct_query(h, NFCT_Q_CREATE, ct) == -1 && errno != EEXIST) {
			printf("error %d create #%ld: %s\n", -errno, i, strerror(errno));
			return 1;
		}
	}
	printf("filled %ld %.1f\n", n, now_ms() - t0);
	nfct_destroy(ct);
	nfct_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--fill") == 0)
		return fill(argc, argv);
	if (argc != 2 || argv[1][0] == '-')
		usage();
	return kill_target(argv[1]);
}
