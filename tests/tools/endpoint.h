/* endpoint.h - the test tools' one parser of "ADDR:PORT", "ADDR:LO-HI" and
 * "[V6]:PORT[-HI]" (header-only: each tool is a single file). */
#ifndef ISOL_TOOLS_ENDPOINT_H
#define ISOL_TOOLS_ENDPOINT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static inline void endpoint_set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* @s into an address with port @lo set, and the range [@lo, @hi]. 0, or -1
 * for anything else (no port, port 0 or past 65535, HI < LO, a name). */
static inline int endpoint_parse_range(const char *s, struct sockaddr_storage *ss, socklen_t *sl,
				       unsigned *lo, unsigned *hi)
{
	const char *ports, *end;
	unsigned long a, b;
	char host[128], *e;
	size_t hl;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -1;
		hl = (size_t)(end - s - 1);
		s++;
		ports = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end)
			return -1;
		hl = (size_t)(end - s);
		ports = end + 1;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	a = b = strtoul(ports, &e, 10);
	if (e == ports)
		return -1;
	if (*e == '-') {
		const char *p = e + 1;

		b = strtoul(p, &e, 10);
		if (e == p)
			return -1;
	}
	if (*e || a == 0 || a > 65535 || b < a || b > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		*sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		*sl = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	endpoint_set_port(ss, *lo);
	return 0;
}

/* One port only. */
static inline int endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	unsigned lo, hi;

	if (endpoint_parse_range(s, ss, sl, &lo, &hi) < 0 || lo != hi)
		return -1;
	return 0;
}

#endif
