/* strbuf.h - a growing byte buffer for building lines and JSON. */
#ifndef ISOL_STRBUF_H
#define ISOL_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	int error; /* sticky -ENOMEM */
};

void strbuf_init(struct strbuf *sb);
void strbuf_fini(struct strbuf *sb);
int strbuf_reserve(struct strbuf *sb, size_t more);
int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append @v in decimal (no printf: for lists of 100,000 actions). */
int strbuf_put_u64(struct strbuf *sb, unsigned long long v);
int strbuf_put_i64(struct strbuf *sb, long long v);
/* Append @s as a JSON string literal, quotes included. */
int strbuf_json_str(struct strbuf *sb, const char *s);
/* Drop the first @n bytes. */
void strbuf_consume(struct strbuf *sb, size_t n);

#endif
