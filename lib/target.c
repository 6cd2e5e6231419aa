/* target.c - parsing and printing action targets (addr[/len][:port[-port]][/proto]). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol/target.h"

const char *isol_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case 0:
		return "all";
	}
	return "?";
}

static int parse_proto(const char *s, uint8_t *proto)
{
	if (strcmp(s, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcmp(s, "udp") == 0)
		*proto = IPPROTO_UDP;
	else if (strcmp(s, "sctp") == 0)
		*proto = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

/* Strict decimal: digits only, no sign, no leading garbage; @max bounds it. */
static int parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_ports(const char *s, const char *whole, struct isol_target *t,
		       struct isol_err *err)
{
	const char *dash = strchr(s, '-');
	unsigned long lo, hi;
	int rc;

	rc = parse_uint(s, dash ? (size_t)(dash - s) : strlen(s), 65535, &lo);
	if (rc == 0 && dash)
		rc = parse_uint(dash + 1, strlen(dash + 1), 65535, &hi);
	else
		hi = lo;
	if (rc == -ERANGE)
		return isol_err_set(err, -EINVAL, "bad target '%s': port '%s' is over 65535",
				    whole, s);
	if (rc < 0)
		return isol_err_set(err, -EINVAL,
				    "bad target '%s': port '%s' is not a number or LO-HI range",
				    whole, s);
	if (lo == 0 && hi == 0)
		return isol_err_set(err, -EINVAL, "bad target '%s': port 0 is not a port", whole);
	if (lo > hi)
		return isol_err_set(err, -EINVAL, "bad target '%s': port range %lu-%lu is reversed",
				    whole, lo, hi);
	t->port_lo = (uint16_t)lo;
	t->port_hi = (uint16_t)hi;
	return 0;
}

static void mask_addr(uint8_t *addr, unsigned alen, unsigned plen)
{
	unsigned i;

	for (i = 0; i < alen; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits < 8)
			addr[i] &= (uint8_t)(0xff00 >> bits);
	}
}

int isol_target_parse(const char *s, struct isol_target *t, struct isol_err *err)
{
	char buf[128], *p, *addr, *ports = NULL, *slash;
	uint8_t check[16];
	unsigned alen;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (s == NULL || *s == '\0')
		return isol_err_set(err, -EINVAL, "empty target (expected ADDR, ADDR:PORT, PREFIX/LEN, ...)");
	n = strlen(s);
	if (n >= sizeof(buf))
		return isol_err_set(err, -EINVAL, "target '%.40s...' is too long", s);
	memcpy(buf, s, n + 1);
	p = buf;

	/* trailing /tcp, /udp, /sctp */
	slash = strrchr(p, '/');
	if (slash && parse_proto(slash + 1, &t->proto) == 0)
		*slash = '\0';
	else if (slash && slash[1] != '\0' && (slash[1] < '0' || slash[1] > '9'))
		return isol_err_set(err, -EINVAL,
				    "bad target '%s': unknown protocol '%s' (tcp, udp or sctp)", s,
				    slash + 1);

	if (*p == '[') {
		char *close = strchr(p, ']');

		if (close == NULL)
			return isol_err_set(err, -EINVAL, "bad target '%s': missing ']'", s);
		*close = '\0';
		addr = p + 1;
		if (close[1] == ':')
			ports = close + 2;
		else if (close[1] != '\0')
			return isol_err_set(err, -EINVAL,
					    "bad target '%s': expected ':PORT' after ']'", s);
		t->family = AF_INET6;
	} else {
		char *colon = strchr(p, ':');

		addr = p;
		if (colon && strchr(colon + 1, ':') == NULL) {
			/* exactly one colon: IPv4 with port */
			*colon = '\0';
			ports = colon + 1;
			t->family = AF_INET;
		} else {
			t->family = colon ? AF_INET6 : AF_INET;
		}
	}

	alen = t->family == AF_INET ? 4 : 16;
	t->plen = (uint8_t)(alen * 8);
	slash = strchr(addr, '/');
	if (slash) {
		unsigned long plen;

		*slash = '\0';
		if (parse_uint(slash + 1, strlen(slash + 1), alen * 8, &plen) < 0)
			return isol_err_set(err, -EINVAL,
					    "bad target '%s': prefix length '%s' must be 0..%u", s,
					    slash + 1, alen * 8);
		t->plen = (uint8_t)plen;
	}
	if (inet_pton(t->family, addr, t->addr) != 1) {
		if (t->family == AF_INET6 && *p != '[' && strchr(addr, '.') == NULL)
			return isol_err_set(err, -EINVAL,
					    "bad target '%s': '%s' is not an IPv6 address "
					    "(put IPv6 in brackets when a port follows: [2001:db8::5]:80)",
					    s, addr);
		return isol_err_set(err, -EINVAL, "bad target '%s': '%s' is not an IP%s address", s,
				    addr, t->family == AF_INET ? "v4" : "v6");
	}
	memcpy(check, t->addr, sizeof(check));
	mask_addr(t->addr, alen, t->plen);
	if (memcmp(check, t->addr, alen) != 0)
		return isol_err_set(err, -EINVAL,
				    "bad target '%s': host bits set under /%u (did you mean the "
				    "host itself, or the network address?)",
				    s, t->plen);

	if (ports) {
		if (parse_ports(ports, s, t, err) < 0)
			return -EINVAL;
		if (t->proto == 0)
			t->proto = IPPROTO_TCP;
	} else {
		t->port_lo = 0;
		t->port_hi = 65535;
	}
	return 0;
}

int isol_target_addr_len(const struct isol_target *t)
{
	return t->family == AF_INET ? 4 : 16;
}

bool isol_target_is_host(const struct isol_target *t)
{
	return t->plen == isol_target_addr_len(t) * 8;
}

bool isol_target_has_port(const struct isol_target *t)
{
	return !(t->port_lo == 0 && t->port_hi == 65535);
}

bool isol_target_is_exact(const struct isol_target *t)
{
	return isol_target_is_host(t) && t->proto != 0 && t->port_lo == t->port_hi;
}

/* @v in decimal at @p; returns the digits written */
static size_t put_dec(char *p, unsigned v)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Without snprintf: a list or a rollback of 100,000 actions formats
 * 100,000 targets. */
int isol_target_format(const struct isol_target *t, char *buf, size_t len)
{
	char s[ISOL_TARGET_STRLEN + 16];
	bool port = isol_target_has_port(t), brackets = t->family == AF_INET6 && port;
	size_t n = 0;
	int i;

	if (t->family == AF_INET) {
		for (i = 0; i < 4; i++) {
			if (i)
				s[n++] = '.';
			n += put_dec(s + n, t->addr[i]);
		}
	} else {
		if (brackets)
			s[n++] = '[';
		/* no address at all (a pin's target, zeroed): "-" */
		if (inet_ntop(t->family, t->addr, s + n, INET6_ADDRSTRLEN) == NULL)
			return snprintf(buf, len, "-");
		n += strlen(s + n);
	}
	if (!isol_target_is_host(t)) {
		s[n++] = '/';
		n += put_dec(s + n, t->plen);
	}
	if (brackets)
		s[n++] = ']';
	if (port) {
		s[n++] = ':';
		n += put_dec(s + n, t->port_lo);
		if (t->port_hi != t->port_lo) {
			s[n++] = '-';
			n += put_dec(s + n, t->port_hi);
		}
	}
	if (t->proto != 0) {
		const char *proto = isol_proto_name(t->proto);

		s[n++] = '/';
		memcpy(s + n, proto, strlen(proto));
		n += strlen(proto);
	}
	s[n] = '\0';
	/* as snprintf: the whole length, what fits, NUL-terminated */
	if (len > 0) {
		size_t k = n < len ? n : len - 1;

		memcpy(buf, s, k);
		buf[k] = '\0';
	}
	return (int)n;
}

bool isol_target_overlaps(const struct isol_target *t, int family, const void *addr,
			  unsigned plen)
{
	uint8_t a[16], b[16];
	unsigned alen = (unsigned)isol_target_addr_len(t);
	unsigned m = plen < t->plen ? plen : t->plen;

	if (family != t->family)
		return false;
	memcpy(a, t->addr, alen);
	memcpy(b, addr, alen);
	mask_addr(a, alen, m);
	mask_addr(b, alen, m);
	return memcmp(a, b, alen) == 0;
}

bool isol_target_equal(const struct isol_target *a, const struct isol_target *b)
{
	return a->family == b->family && a->plen == b->plen && a->proto == b->proto &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi &&
	       memcmp(a->addr, b->addr, (size_t)isol_target_addr_len(a)) == 0;
}
