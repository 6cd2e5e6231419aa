/* log.h - the agent's log: stderr in the foreground, syslog otherwise. */
#ifndef ISOL_LOG_H
#define ISOL_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_init(bool to_stderr, int level);
int log_level_parse(const char *s); /* LOG_DEBUG.. or -1 */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif
