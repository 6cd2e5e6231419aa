/* log.c - leveled logging to stderr or syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool log_stderr = true;
static int log_max = LOG_INFO;

void log_init(bool to_stderr, int level)
{
	log_stderr = to_stderr;
	log_max = level;
	if (!to_stderr)
		openlog("isolagent", LOG_PID, LOG_DAEMON);
}

int log_level_parse(const char *s)
{
	if (strcmp(s, "debug") == 0)
		return LOG_DEBUG;
	if (strcmp(s, "info") == 0)
		return LOG_INFO;
	if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0)
		return LOG_WARNING;
	if (strcmp(s, "error") == 0)
		return LOG_ERR;
	return -1;
}

void log_msg(int prio, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warn",  "note",  "info", "debug" };
	va_list ap;

	if (prio > log_max)
		return;
	va_start(ap, fmt);
	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char line[1024];
		int n, m;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = (int)strftime(line, sizeof(line), "%H:%M:%S", &tm);
		n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ld isolagent %s: ",
			      ts.tv_nsec / 1000000, names[prio & 7]);
		m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		n = m < 0 ? n : n + m < (int)sizeof(line) - 1 ? n + m : (int)sizeof(line) - 2;
		line[n++] = '\n';
		/* one write: the agent's latency is not three syscalls long */
		if (write(STDERR_FILENO, line, (size_t)n) < 0) {
			/* nowhere to say it */
		}
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}
