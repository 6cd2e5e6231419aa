/* err.h - an error code with a human message, carried from where it happens
 * up to the control socket so that isolctl prints exactly what failed. */
#ifndef ISOL_ERR_H
#define ISOL_ERR_H

#include <stdarg.h>

struct isol_err {
	int code;      /* negative errno, 0 when no error */
	char msg[256]; /* one line, no trailing newline */
};

/* Record an error; returns @code so callers can `return isol_err_set(...)`.
 * @err may be NULL. The first error set wins unless isol_err_clear() is called. */
int isol_err_set(struct isol_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int isol_err_vset(struct isol_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Prefix the message already recorded, e.g. with "line 12: ". */
void isol_err_prefix(struct isol_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void isol_err_clear(struct isol_err *err);

#endif
