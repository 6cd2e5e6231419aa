/* target.h - what an action applies to: an address or prefix, optionally a
 * protocol and a port or port range. Parsed from the CLI/wire syntax
 *   ADDR | ADDR:PORT | ADDR:LO-HI | PREFIX/LEN | PREFIX/LEN:PORT  [/tcp|/udp|/sctp]
 * with IPv6 in brackets when a port follows: [2001:db8::5]:5672. */
#ifndef ISOL_TARGET_H
#define ISOL_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"

#define ISOL_TARGET_STRLEN 80 /* enough for "[v6/128]:65535-65535/sctp" */

struct isol_target {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; host bits are zero */
	uint8_t plen;     /* prefix length: 32/128 for a host */
	uint8_t proto;    /* IPPROTO_TCP/UDP/SCTP, 0 = every protocol */
	uint16_t port_lo; /* host byte order; 0..65535 when no port given */
	uint16_t port_hi;
};

/* Parse @s into @t. Returns 0, or -EINVAL with a message in @err that quotes
 * the offending part. A port without a protocol means tcp; a protocol without
 * a port means every port of that protocol. Host bits set under a prefix
 * length are an error (10.0.0.5/24 is ambiguous). */
int isol_target_parse(const char *s, struct isol_target *t, struct isol_err *err);

/* Canonical text form, parseable again: "10.0.0.5:5672/tcp", "10.0.0.0/24",
 * "[2001:db8::5]:80-90/udp". Returns the length written (truncated to @len). */
int isol_target_format(const struct isol_target *t, char *buf, size_t len);

int isol_target_addr_len(const struct isol_target *t); /* 4 or 16 */
bool isol_target_is_host(const struct isol_target *t);
bool isol_target_has_port(const struct isol_target *t);
/* One host, one protocol, one port: fits an exact (hash) set element. */
bool isol_target_is_exact(const struct isol_target *t);
/* True if the address ranges of @t and @family/@addr/@plen intersect. */
bool isol_target_overlaps(const struct isol_target *t, int family, const void *addr,
			  unsigned plen);
bool isol_target_equal(const struct isol_target *a, const struct isol_target *b);

const char *isol_proto_name(uint8_t proto); /* "tcp", "udp", "sctp", "all" */

#endif
