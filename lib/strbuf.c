/* strbuf.c - growing byte buffer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol/strbuf.h"

void strbuf_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void strbuf_fini(struct strbuf *sb)
{
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

int strbuf_reserve(struct strbuf *sb, size_t more)
{
	size_t ncap;
	char *n;

	if (sb->error)
		return sb->error;
	if (sb->len + more + 1 <= sb->cap)
		return 0;
	ncap = sb->cap ? sb->cap : 256;
	while (ncap < sb->len + more + 1)
		ncap *= 2;
	n = realloc(sb->buf, ncap);
	if (n == NULL)
		return sb->error = -ENOMEM;
	sb->buf = n;
	sb->cap = ncap;
	return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	if (strbuf_reserve(sb, len) < 0)
		return sb->error;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s)
{
	return strbuf_append(sb, s, strlen(s));
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (strbuf_reserve(sb, 128) < 0)
		return sb->error;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sb->cap - sb->len) {
		if (strbuf_reserve(sb, (size_t)n) < 0)
			return sb->error;
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
	return 0;
}

int strbuf_put_u64(struct strbuf *sb, unsigned long long v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return strbuf_append(sb, tmp + sizeof(tmp) - n, n);
}

int strbuf_put_i64(struct strbuf *sb, long long v)
{
	if (v < 0) {
		if (strbuf_append(sb, "-", 1) < 0)
			return sb->error;
		return strbuf_put_u64(sb, 0ull - (unsigned long long)v);
	}
	return strbuf_put_u64(sb, (unsigned long long)v);
}

int strbuf_json_str(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	if (strbuf_reserve(sb, strlen(s) * 6 + 2) < 0)
		return sb->error;
	sb->buf[sb->len++] = '"';
	for (; *p; p++) {
		switch (*p) {
		case '"':
		case '\\':
			sb->buf[sb->len++] = '\\';
			sb->buf[sb->len++] = (char)*p;
			break;
		case '\n':
			sb->buf[sb->len++] = '\\';
			sb->buf[sb->len++] = 'n';
			break;
		case '\r':
			sb->buf[sb->len++] = '\\';
			sb->buf[sb->len++] = 'r';
			break;
		case '\t':
			sb->buf[sb->len++] = '\\';
			sb->buf[sb->len++] = 't';
			break;
		default:
			if (*p < 0x20) {
				memcpy(sb->buf + sb->len, "\\u00", 4);
				sb->buf[sb->len + 4] = hex[*p >> 4];
				sb->buf[sb->len + 5] = hex[*p & 15];
				sb->len += 6;
			} else {
				sb->buf[sb->len++] = (char)*p;
			}
		}
	}
	sb->buf[sb->len++] = '"';
	sb->buf[sb->len] = '\0';
	return 0;
}

void strbuf_consume(struct strbuf *sb, size_t n)
{
	if (n >= sb->len) {
		sb->len = 0;
	} else {
		memmove(sb->buf, sb->buf + n, sb->len - n);
		sb->len -= n;
	}
	if (sb->buf)
		sb->buf[sb->len] = '\0';
}
