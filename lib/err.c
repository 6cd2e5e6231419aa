/* err.c - recording an error code with its message. */
#include <stdio.h>
#include <string.h>

#include "isol/err.h"

int isol_err_vset(struct isol_err *err, int code, const char *fmt, va_list ap)
{
	if (err == NULL || err->code != 0)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int isol_err_set(struct isol_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	isol_err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void isol_err_prefix(struct isol_err *err, const char *fmt, ...)
{
	char prefix[128];
	size_t plen, mlen;
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (plen + mlen > sizeof(err->msg) - 1)
		mlen = sizeof(err->msg) - 1 - plen; /* keep the prefix, cut the tail */
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + mlen] = '\0';
}

void isol_err_clear(struct isol_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
