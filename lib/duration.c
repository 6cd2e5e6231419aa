/* duration.c - parsing and printing human durations (1h30m, 500ms). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "isol/duration.h"

static const struct {
	const char *unit;
	uint64_t ms;
} units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
};

int isol_duration_parse(const char *s, uint64_t *ms, struct isol_err *err)
{
	const char *p = s;
	uint64_t total = 0;

	if (s == NULL || *s == '\0')
		return isol_err_set(err, -EINVAL, "empty duration (use e.g. 30s, 10m, 1h30m)");
	while (*p != '\0') {
		uint64_t n = 0, mul = 0;
		size_t ulen = 0, i;

		if (*p < '0' || *p > '9')
			return isol_err_set(err, -EINVAL,
					    "bad duration '%s': expected a number at '%s'", s, p);
		while (*p >= '0' && *p <= '9') {
			if (n > (UINT64_MAX - 9) / 10)
				return isol_err_set(err, -EINVAL, "duration '%s' is too large", s);
			n = n * 10 + (uint64_t)(*p++ - '0');
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			/* "ms" before "m": the longest unit that matches wins */
			if (strncmp(p, units[i].unit, l) == 0 && l > ulen) {
				ulen = l;
				mul = units[i].ms;
			}
		}
		if (ulen == 0)
			return isol_err_set(err, -EINVAL,
					    "bad duration '%s': missing or unknown unit at '%s' "
					    "(units: ms, s, m, h, d)",
					    s, p);
		p += ulen;
		if (n != 0 && mul > (UINT64_MAX / 4) / n)
			return isol_err_set(err, -EINVAL, "duration '%s' is too large", s);
		total += n * mul;
		if (total > UINT64_MAX / 4)
			return isol_err_set(err, -EINVAL, "duration '%s' is too large", s);
	}
	/* the kernel keeps element timeouts in ms as u64 but converts to jiffies:
	 * keep well below anything that could overflow there (~100 years) */
	if (total > 100ull * 365 * 86400000ull)
		return isol_err_set(err, -EINVAL, "duration '%s' is too large (max 100 years)", s);
	if (total == 0)
		return isol_err_set(err, -EINVAL, "duration '%s' is zero", s);
	*ms = total;
	return 0;
}

int isol_duration_format(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} parts[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 } };
	size_t off = 0, i;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (ms == 0)
		return snprintf(buf, len, "0s");
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && off < len; i++) {
		if (ms >= parts[i].ms) {
			off += (size_t)snprintf(buf + off, len - off, "%llu%s",
						(unsigned long long)(ms / parts[i].ms),
						parts[i].unit);
			ms %= parts[i].ms;
		}
	}
	if (ms != 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%llums", (unsigned long long)ms);
	return (int)(off < len ? off : len - 1);
}

uint64_t isol_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t isol_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
