/* ctl_json.c - request JSON written straight into a buffer (or streamed to
 * the socket as it fills): no json_t tree and no json_dumps copy for the
 * 100,000 lines of an apply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int ctl_jw_init(struct ctl_jw *w, size_t cap, int (*flush)(void *, const char *, size_t), void *ctx)
{
	memset(w, 0, sizeof(*w));
	if (cap < 64)
		cap = 64;
	w->buf = malloc(cap);
	if (w->buf == NULL)
		return -ENOMEM;
	w->cap = cap;
	w->flush = flush;
	w->ctx = ctx;
	return 0;
}

void ctl_jw_fini(struct ctl_jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

int ctl_jw_flush(struct ctl_jw *w)
{
	int rc;

	if (w->error)
		return w->error;
	if (w->flush == NULL || w->len == 0)
		return 0;
	rc = w->flush(w->ctx, w->buf, w->len);
	if (rc < 0)
		w->error = rc;
	w->len = 0;
	return w->error;
}

/* Make room for at least one byte: flush to the sink, or grow. */
static int jw_room(struct ctl_jw *w)
{
	char *nb;
	size_t ncap;

	if (w->flush)
		return ctl_jw_flush(w);
	ncap = w->cap * 2;
	nb = realloc(w->buf, ncap);
	if (nb == NULL) {
		w->error = -ENOMEM;
		return w->error;
	}
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

void ctl_jw_raw(struct ctl_jw *w, const char *s, size_t n)
{
	while (n > 0 && !w->error) {
		size_t room = w->cap - w->len;

		if (room == 0) {
			jw_room(w);
			continue;
		}
		if (room > n)
			room = n;
		memcpy(w->buf + w->len, s, room);
		w->len += room;
		s += room;
		n -= room;
	}
}

void ctl_jw_lit(struct ctl_jw *w, const char *s)
{
	ctl_jw_raw(w, s, strlen(s));
}

/* Bytes that must be escaped inside a JSON string. */
static inline int needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

void ctl_jw_str(struct ctl_jw *w, const char *s, size_t n)
{
	ctl_jw_raw(w, "\"", 1);
	ctl_jw_str_body(w, s, n);
	ctl_jw_raw(w, "\"", 1);
}

void ctl_jw_str_body(struct ctl_jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *end = s + n, *run;

	while (s < end) {
		char esc[8];
		unsigned char c;

		for (run = s; s < end && !needs_escape((unsigned char)*s); s++)
			;
		if (s > run)
			ctl_jw_raw(w, run, (size_t)(s - run));
		if (s == end)
			break;
		c = (unsigned char)*s++;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			ctl_jw_raw(w, esc, 6);
			continue;
		}
		ctl_jw_raw(w, esc, 2);
	}
}

void ctl_jw_int(struct ctl_jw *w, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);

	ctl_jw_raw(w, num, (size_t)n);
}

void ctl_jw_key(struct ctl_jw *w, const char *key, bool first)
{
	if (!first)
		ctl_jw_raw(w, ",", 1);
	ctl_jw_str(w, key, strlen(key));
	ctl_jw_raw(w, ":", 1);
}

void ctl_jw_value(struct ctl_jw *w, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;
	bool first = true;
	char num[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		ctl_jw_raw(w, "{", 1);
		/* jansson's foreach macros take a non-const object */
		json_object_foreach((json_t *)(uintptr_t)v, key, item)
		{
			ctl_jw_key(w, key, first);
			ctl_jw_value(w, item);
			first = false;
		}
		ctl_jw_raw(w, "}", 1);
		break;
	case JSON_ARRAY:
		ctl_jw_raw(w, "[", 1);
		json_array_foreach(v, i, item)
		{
			if (i)
				ctl_jw_raw(w, ",", 1);
			ctl_jw_value(w, item);
		}
		ctl_jw_raw(w, "]", 1);
		break;
	case JSON_STRING:
		ctl_jw_str(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		ctl_jw_int(w, (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		ctl_jw_lit(w, num);
		break;
	case JSON_TRUE:
		ctl_jw_raw(w, "true", 4);
		break;
	case JSON_FALSE:
		ctl_jw_raw(w, "false", 5);
		break;
	case JSON_NULL:
		ctl_jw_raw(w, "null", 4);
		break;
	}
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF - what jansson on the agent side accepts. */
bool ctl_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;

	while (s < end) {
		unsigned char c = *s;
		size_t need;
		unsigned cp, min;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - s) <= need)
			return false;
		for (size_t i = 1; i <= need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += need + 1;
	}
	return true;
}

void ctl_utf8_force(char *s)
{
	if (ctl_utf8_valid(s, strlen(s)))
		return;
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			*s = '?';
}

/* ---- reading */

#define MAX_DEPTH 64

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* @p at the opening quote; returns the byte after the closing one. */
static const char *skip_str(const char *p, const char *end)
{
	const char *start = ++p;

	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return ctl_utf8_valid(start, (size_t)(p - start)) ? p + 1 : NULL;
		if (c < 0x20)
			return NULL;
		if (c != '\\') {
			p++;
			continue;
		}
		if (++p >= end)
			return NULL;
		if (*p == 'u') {
			if (end - p < 5 || hexval(p[1]) < 0 || hexval(p[2]) < 0 ||
			    hexval(p[3]) < 0 || hexval(p[4]) < 0)
				return NULL;
			p += 5;
		} else if (*p && strchr("\"\\/bfnrt", *p)) {
			p++;
		} else {
			return NULL;
		}
	}
	return NULL;
}

static const char *skip_digits(const char *p, const char *end)
{
	const char *start = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > start ? p : NULL;
}

static const char *skip_num(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (!(p = skip_digits(p, end)))
		return NULL;
	if (p < end && *p == '.' && !(p = skip_digits(p + 1, end)))
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!(p = skip_digits(p, end)))
			return NULL;
	}
	return p;
}

static const char *skip_lit(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *skip_val(const char *p, const char *end, int depth)
{
	char close;
	bool obj;

	p = skip_ws(p, end);
	if (p >= end)
		return NULL;
	switch (*p) {
	case '"':
		return skip_str(p, end);
	case 't':
		return skip_lit(p, end, "true");
	case 'f':
		return skip_lit(p, end, "false");
	case 'n':
		return skip_lit(p, end, "null");
	case '{':
	case '[':
		break;
	default:
		return skip_num(p, end);
	}
	if (depth >= MAX_DEPTH)
		return NULL;
	obj = *p == '{';
	close = obj ? '}' : ']';
	p = skip_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (obj) {
			if (p >= end || *p != '"' || !(p = skip_str(p, end)))
				return NULL;
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p++;
		}
		if (!(p = skip_val(p, end, depth + 1)))
			return NULL;
		p = skip_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1, end);
	}
}

/* Skipping text that ctl_json_skip() has already checked: only the ends of
 * strings and the nesting matter, and bounds are still respected. */
static const char *fast_str(const char *p, const char *end)
{
	const char *start = ++p, *q, *b;

	while (p < end && (q = memchr(p, '"', (size_t)(end - p)))) {
		/* escaped when an odd number of backslashes precede it */
		for (b = q; b > start && b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

static const char *fast_skip(const char *p, const char *end)
{
	int depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return fast_str(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
		       *p != '\t' && *p != '\r')
			p++;
		return p;
	}
	while (p < end) {
		switch (*p) {
		case '"':
			if (!(p = fast_str(p, end)))
				return NULL;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return p + 1;
			break;
		}
		p++;
	}
	return NULL;
}

const char *ctl_json_skip(const char *p, const char *end)
{
	return skip_val(p, end, 0);
}

int ctl_json_it_init(struct ctl_json_it *it, const char *p, const char *end)
{
	p = skip_ws(p, end);
	if (p >= end || (*p != '{' && *p != '['))
		return -EPROTO;
	it->close = *p == '{' ? '}' : ']';
	it->p = p + 1;
	it->end = end;
	it->first = true;
	return 0;
}

int ctl_json_it_next(struct ctl_json_it *it, const char **key, size_t *klen, const char **val,
		     const char **vend)
{
	const char *p, *end = it->end;

	if (it->close == 0)
		return 0;
	p = skip_ws(it->p, end);
	if (p < end && *p == it->close) {
		it->p = p + 1;
		it->close = 0;
		return 0;
	}
	if (!it->first) {
		if (p >= end || *p != ',')
			return -EPROTO;
		p = skip_ws(p + 1, end);
	}
	*key = NULL;
	*klen = 0;
	if (it->close == '}') {
		const char *k;

		if (p >= end || *p != '"' || !(k = fast_str(p, end)))
			return -EPROTO;
		*key = p + 1;
		*klen = (size_t)(k - p - 2);
		p = skip_ws(k, end);
		if (p >= end || *p != ':')
			return -EPROTO;
		p++;
	}
	p = skip_ws(p, end);
	*val = p;
	*vend = fast_skip(p, end);
	if (*vend == NULL || *vend == p)
		return -EPROTO;
	it->p = *vend;
	it->first = false;
	return 1;
}

/* Append one code point as UTF-8 if it fits whole. */
static bool put_cp(char *out, size_t len, size_t *o, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	}
	if (*o + n >= len)
		return false;
	memcpy(out + *o, b, n);
	*o += n;
	return true;
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 |
			  hexval(p[3]));
}

int ctl_json_str_decode(const char *p, const char *end, char *out, size_t len)
{
	const char *q;
	size_t o = 0;

	if (len == 0)
		return -EINVAL;
	out[0] = '\0';
	p = skip_ws(p, end);
	if (p >= end || *p != '"' || !(q = fast_str(p, end)))
		return -EINVAL;
	end = q - 1; /* the closing quote */
	for (p++; p < end;) {
		unsigned char c = (unsigned char)*p;
		unsigned cp;
		size_t n;

		if (c != '\\') {
			/* a whole UTF-8 sequence or nothing */
			n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			if (o + n >= len || n > (size_t)(end - p))
				break;
			memcpy(out + o, p, n);
			o += n;
			p += n;
			continue;
		}
		if (end - p < 2 || (p[1] == 'u' && end - p < 6))
			break; /* unchecked text cut short: stop, never overrun */
		p++;
		switch (*p++) {
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			cp = hex4(p);
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u' && hex4(p + 2) >= 0xdc00 && hex4(p + 2) <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 2) - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd; /* a lone surrogate */
			}
			break;
		default: /* '"', '\\', '/' */
			cp = (unsigned char)p[-1];
			break;
		}
		if (!put_cp(out, len, &o, cp))
			break;
	}
	out[o] = '\0';
	return 0;
}

int ctl_json_u64(const char *p, const char *end, uint64_t *v)
{
	uint64_t n = 0;
	const char *q;

	p = skip_ws(p, end);
	q = skip_num(p, end);
	if (q == NULL || p == q || *p == '-')
		return -EINVAL;
	for (; p < q; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
			return -EINVAL; /* a fraction, an exponent, or too large */
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*v = n;
	return 0;
}

static void newline_indent(FILE *out, int depth)
{
	fputc('\n', out);
	while (depth-- > 0)
		fputs("  ", out);
}

void ctl_json_pretty(FILE *out, const char *p, size_t len)
{
	const char *end = p + len, *q;
	int depth = 0;

	while (p < end) {
		char c = *p;

		switch (c) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			p++;
			break;
		case '"':
			q = skip_str(p, end);
			if (q == NULL)
				q = end;
			fwrite(p, 1, (size_t)(q - p), out);
			p = q;
			break;
		case '{':
		case '[':
			q = skip_ws(p + 1, end);
			if (q < end && *q == (c == '{' ? '}' : ']')) {
				fputc(c, out);
				fputc(*q, out);
				p = q + 1;
				break;
			}
			fputc(c, out);
			newline_indent(out, ++depth);
			p++;
			break;
		case '}':
		case ']':
			newline_indent(out, --depth);
			fputc(c, out);
			p++;
			break;
		case ',':
			fputc(',', out);
			newline_indent(out, depth);
			p++;
			break;
		case ':':
			fputs(": ", out);
			p++;
			break;
		default:
			fputc(c, out);
			p++;
			break;
		}
	}
	fputc('\n', out);
}

void ctl_resp_fini(struct ctl_resp *r)
{
	json_decref(r->obj);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

static bool key_is(const char *key, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

int ctl_resp_parse(struct ctl_resp *r, char *line, size_t len, struct isol_err *err)
{
	const char *end = line + len, *key, *val, *vend;
	struct ctl_json_it it;
	json_error_t jerr;
	size_t klen;
	int rc;

	memset(r, 0, sizeof(*r));
	r->raw = line;
	r->raw_len = len;
	/* one full check of the grammar; the walks below trust it */
	vend = ctl_json_skip(line, end);
	rc = vend && skip_ws(vend, end) == end ? ctl_json_it_init(&it, line, end) : -EPROTO;
	if (rc == 0 && it.close != '}')
		rc = -EPROTO;
	while (rc == 0 && (rc = ctl_json_it_next(&it, &key, &klen, &val, &vend)) == 1) {
		rc = 0;
		if (r->items == NULL && *val == '[' &&
		    (key_is(key, klen, "actions") || key_is(key, klen, "removed"))) {
			r->items = val;
			r->items_len = (size_t)(vend - val);
		}
	}
	if (rc == 0 && skip_ws(it.p, end) != end)
		rc = -EPROTO;
	if (rc < 0) {
		json_t *j = json_loadb(line, len, 0, &jerr);

		isol_err_set(err, -EPROTO, "isolagent sent a response that is not JSON: %s",
			     j ? "bad structure" : jerr.text);
		json_decref(j);
		ctl_resp_fini(r);
		return -EPROTO;
	}
	if (r->items) {
		/* the same text with the large array cut out: jansson parses the rest */
		size_t head = (size_t)(r->items - line), tail = len - head - r->items_len;
		char *small = malloc(head + 2 + tail);

		if (small == NULL) {
			ctl_resp_fini(r);
			return isol_err_set(err, -ENOMEM, "out of memory");
		}
		memcpy(small, line, head);
		memcpy(small + head, "[]", 2);
		memcpy(small + head + 2, r->items + r->items_len, tail);
		r->obj = json_loadb(small, head + 2 + tail, 0, &jerr);
		free(small);
	} else {
		r->obj = json_loadb(line, len, 0, &jerr);
	}
	if (r->obj == NULL || !json_is_boolean(json_object_get(r->obj, "ok"))) {
		if (r->obj)
			isol_err_set(err, -EPROTO,
				     "isolagent sent a response without \"ok\" (is "
				     "this an isolagent socket?)");
		else
			isol_err_set(err, -EPROTO, "isolagent sent a response that is not JSON: %s",
				     jerr.text);
		ctl_resp_fini(r);
		return -EPROTO;
	}
	return 0;
}
