/* ctl_render.c - the agent's responses as text for people: one-line
 * confirmations, the aligned `list` table, `key: value` pages. Every field
 * may be missing or of the wrong type; it then prints as "-". */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ctl.h"
#include "isol/duration.h"
#include "isol/wire.h"

#define CELL_MAX 256

/* ---- small readers that tolerate anything */

static const json_t *get_obj(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_object(v) ? v : NULL;
}

static const char *get_str(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool get_u64(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* Copy @s into @buf with control characters (C0, DEL, and the UTF-8
 * encoded C1 range U+0080..U+009F) replaced by '?'. */
static void copy_safe(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (len == 0)
		return;
	while (*p && o + 1 < len) {
		if (*p < 0x20 || *p == 0x7f) {
			buf[o++] = '?';
			p++;
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			buf[o++] = '?';
			p += 2;
		} else {
			buf[o++] = (char)*p++;
		}
	}
	buf[o] = '\0';
}

void ctl_put_safe(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	while (*p) {
		for (run = p;
		     *p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
		     p++)
			;
		if (p > run)
			fwrite(run, 1, (size_t)(p - run), out);
		if (*p == '\0')
			break;
		fputc('?', out);
		p += p[0] == 0xc2 ? 2 : 1;
	}
}

/* Display width of UTF-8 text, counting one column per code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void pad(FILE *out, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		fwrite(spaces, 1, k, out);
		n -= k;
	}
}

static void fmt_str(char *buf, size_t len, const json_t *o, const char *key)
{
	const char *s = get_str(o, key);

	copy_safe(buf, len, s && *s ? s : "-");
}

static void fmt_u64(char *buf, size_t len, const json_t *o, const char *key)
{
	uint64_t v;

	if (get_u64(o, key, &v))
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "-");
}

/* Rounded to whole seconds: up for what remains, down for what has passed. */
static void fmt_seconds(char *buf, size_t len, uint64_t ms, bool round_up)
{
	uint64_t s = round_up ? (ms + 999) / 1000 : ms / 1000;

	isol_duration_format(s * 1000, buf, len);
}

/* The agent resolves user names (isolctl stays static and never reads the
 * user database): without one, root is still root. */
static const char *user_name(const char *given, uint64_t uid)
{
	if (given && *given)
		return given;
	return uid == 0 ? "root" : NULL;
}

/* ---- errors */

int ctl_exit_for_code(const char *code)
{
	if (code && strcmp(code, ISOL_E_INVALID) == 0)
		return CTL_EXIT_USAGE;
	return CTL_EXIT_FAILED;
}

int ctl_render_error(FILE *err, const json_t *resp, const char *verb)
{
	const json_t *e = get_obj(resp, "error");
	const char *code = get_str(e, "code"), *msg = get_str(e, "message");
	const char *hint = NULL;

	fputs("isolctl: ", err);
	ctl_put_safe(err, msg && *msg ? msg : "isolagent refused the request without a message");
	if (code && *code && !(msg && *msg)) {
		fputs(" (", err);
		ctl_put_safe(err, code);
		fputc(')', err);
	}
	fputc('\n', err);
	{ /* one line per problem: policy files' file:line:col messages */
		const json_t *details = json_object_get(e, "details");
		size_t i;
		json_t *d;

		json_array_foreach(details, i, d) {
			if (json_is_string(d)) {
				ctl_put_safe(err, json_string_value(d));
				fputc('\n', err);
			}
		}
	}

	if (code == NULL)
		hint = NULL;
	else if (strcmp(code, ISOL_E_PROTECTED) == 0)
		hint = msg && strstr(msg, "--force") ? NULL /* the agent already said how */
		       : strcmp(verb, "apply") == 0
			   ? "to act on a protected target anyway, add --force to its line "
			     "or to the apply command"
			   : "to act on a protected target anyway, add --force";
	else if (strcmp(code, ISOL_E_DENIED) == 0)
		hint = "changes need root or the agent's admin group";
	else if (strcmp(code, ISOL_E_NOT_FOUND) == 0)
		hint = "`isolctl list` shows the active actions";
	else if (strcmp(code, ISOL_E_EXISTS) == 0)
		hint = "`isolctl list` shows the action already in place";
	else if (strcmp(code, ISOL_E_BUSY) == 0)
		hint = "the agent is busy; try again in a moment";
	if (hint)
		fprintf(err, "isolctl: hint: %s\n", hint);
	return ctl_exit_for_code(code);
}

/* ---- one-line confirmations */

static void render_changes(FILE *out, const json_t *resp, const char *title)
{
	const json_t *changes = json_object_get(resp, "changes"), *c;
	size_t i;

	if (!json_is_array(changes) || json_array_size(changes) == 0) {
		fprintf(out, "%s nothing\n", title);
		return;
	}
	fprintf(out, "%s\n", title);
	json_array_foreach(changes, i, c)
	{
		if (!json_is_string(c))
			continue;
		fputs("  ", out);
		ctl_put_safe(out, json_string_value(c));
		fputc('\n', out);
	}
	c = json_object_get(resp, "changes_count"); /* a brief answer lists the first few */
	if (json_is_integer(c) && (size_t)json_integer_value(c) > json_array_size(changes))
		fprintf(out, "  ... and %zu more\n",
			(size_t)json_integer_value(c) - json_array_size(changes));
}

void ctl_render_isolate(FILE *out, const json_t *resp, bool dry_run)
{
	const json_t *a = get_obj(resp, "action");
	char target[CELL_MAX], dir[32], mode[32], ttl[32] = "no ttl";
	uint64_t id, ttl_ms;

	if (dry_run) {
		render_changes(out, resp, "dry run: would apply:");
		return;
	}
	fmt_str(target, sizeof(target), a, "target");
	fmt_str(dir, sizeof(dir), a, "direction");
	fmt_str(mode, sizeof(mode), a, "mode");
	if (get_u64(a, "ttl_ms", &ttl_ms) && ttl_ms > 0) {
		memcpy(ttl, "ttl ", 4);
		isol_duration_format(ttl_ms, ttl + 4, sizeof(ttl) - 4);
	}
	{
		const char *kind = get_str(a, "kind");
		char to[CELL_MAX];

		fmt_str(to, sizeof(to), a, "to");
		if (kind && strcmp(kind, "steer") == 0)
			fprintf(out, "steered %s to %s (id ", target, to);
		else if (kind && strcmp(kind, "pin") == 0)
			fprintf(out, "pinned %s to %s (id ", target, to);
		else if (kind && strcmp(kind, "route") == 0) {
			const char *type = get_str(a, "type");

			if (type && strcmp(type, "via") != 0)
				fprintf(out, "routed %s to %s (id ", target, type);
			else
				fprintf(out, "routed %s via %s (id ", target, to);
		} else
			fprintf(out, "isolated %s (id ", target);
		if (get_u64(a, "id", &id))
			fprintf(out, "%llu", (unsigned long long)id);
		else
			fputc('-', out);
		if (kind && strcmp(kind, "isolate") != 0)
			fprintf(out, ", %s)\n", ttl);
		else
			fprintf(out, ", %s, %s, %s)\n", dir, mode, ttl);
	}
}

void ctl_render_apply(FILE *out, const json_t *resp, bool dry_run)
{
	uint64_t count, first, last;
	bool have_count = get_u64(resp, "count", &count);
	bool have_ids = get_u64(resp, "first_id", &first) && get_u64(resp, "last_id", &last);

	if (dry_run) {
		if (have_count)
			fprintf(out, "dry run: %llu action%s valid, nothing applied\n",
				(unsigned long long)count, count == 1 ? "" : "s");
		if (json_is_array(json_object_get(resp, "changes")) || !have_count)
			render_changes(out, resp, "dry run: would apply:");
		return;
	}
	if (!have_count) {
		fputs("applied (the agent did not say how many actions)\n", out);
		return;
	}
	fprintf(out, "applied %llu action%s", (unsigned long long)count, count == 1 ? "" : "s");
	if (count > 0 && have_ids && first == last)
		fprintf(out, " (id %llu)", (unsigned long long)first);
	else if (count > 0 && have_ids)
		fprintf(out, " (ids %llu-%llu)", (unsigned long long)first,
			(unsigned long long)last);
	else if (count == 0)
		fputs(" (nothing to do)", out);
	fputc('\n', out);
}

/* ---- list: an aligned table, widths from the data. The actions are read
 * straight from the response text into rows (no jansson tree), twice: once
 * for the widths, once to print. */

enum list_col {
	COL_ID,
	COL_KIND,
	COL_TARGET,
	COL_TO,
	COL_DIR,
	COL_MODE,
	COL_AGE,
	COL_TTL,
	COL_ORIGIN,
	COL_ACTOR,
	COL_HITS,
	COL_REASON,
	__COL_MAX
};

static const char *const col_names[__COL_MAX] = {
    "ID", "KIND", "TARGET", "TO", "DIR", "MODE", "AGE", "TTL", "ORIGIN", "ACTOR", "HITS", "REASON",
};

/* One action as list shows it; "" and !has_* mean the field was missing or
 * of the wrong type. */
struct row {
	bool has_id, has_created, has_expires, has_packets, has_uid, has_pid;
	char user[33];
	uint64_t id, created, expires, packets, uid, pid;
	char kind[32], target[CELL_MAX], dir[32], mode[32], origin[CELL_MAX], reason[CELL_MAX];
	char to[64], type[16], dev[20];
};

static bool key_is(const char *key, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

static void row_str(char *buf, size_t len, const char *val, const char *vend)
{
	if (ctl_json_str_decode(val, vend, buf, len) < 0)
		buf[0] = '\0';
}

static void row_actor(struct row *row, const char *val, const char *vend)
{
	struct ctl_json_it it;
	const char *key, *v, *ve;
	size_t klen;

	if (ctl_json_it_init(&it, val, vend) < 0 || it.close != '}')
		return;
	while (ctl_json_it_next(&it, &key, &klen, &v, &ve) == 1) {
		if (key_is(key, klen, "uid"))
			row->has_uid = ctl_json_u64(v, ve, &row->uid) == 0;
		else if (key_is(key, klen, "pid"))
			row->has_pid = ctl_json_u64(v, ve, &row->pid) == 0;
		else if (key_is(key, klen, "user"))
			row_str(row->user, sizeof(row->user), v, ve);
	}
}

/* The next element of the actions array as a row: 1, 0 at the end, or
 * -EPROTO (already checked by ctl_resp_parse, so only on a broken caller). */
static int next_row(struct ctl_json_it *items, struct row *row)
{
	const char *key, *val, *vend, *k, *v, *ve;
	struct ctl_json_it it;
	size_t klen;
	int rc;

	rc = ctl_json_it_next(items, &key, &klen, &val, &vend);
	if (rc != 1)
		return rc;
	memset(row, 0, sizeof(*row));
	if (ctl_json_it_init(&it, val, vend) < 0 || it.close != '}')
		return 1; /* not an object: a row of "-" */
	while (ctl_json_it_next(&it, &k, &klen, &v, &ve) == 1) {
		if (key_is(k, klen, "id"))
			row->has_id = ctl_json_u64(v, ve, &row->id) == 0;
		else if (key_is(k, klen, "created_ms"))
			row->has_created = ctl_json_u64(v, ve, &row->created) == 0;
		else if (key_is(k, klen, "expires_ms"))
			row->has_expires = ctl_json_u64(v, ve, &row->expires) == 0;
		else if (key_is(k, klen, "packets"))
			row->has_packets = ctl_json_u64(v, ve, &row->packets) == 0;
		else if (key_is(k, klen, "kind"))
			row_str(row->kind, sizeof(row->kind), v, ve);
		else if (key_is(k, klen, "target"))
			row_str(row->target, sizeof(row->target), v, ve);
		else if (key_is(k, klen, "direction"))
			row_str(row->dir, sizeof(row->dir), v, ve);
		else if (key_is(k, klen, "to"))
			row_str(row->to, sizeof(row->to), v, ve);
		else if (key_is(k, klen, "type"))
			row_str(row->type, sizeof(row->type), v, ve);
		else if (key_is(k, klen, "dev"))
			row_str(row->dev, sizeof(row->dev), v, ve);
		else if (key_is(k, klen, "mode"))
			row_str(row->mode, sizeof(row->mode), v, ve);
		else if (key_is(k, klen, "origin"))
			row_str(row->origin, sizeof(row->origin), v, ve);
		else if (key_is(k, klen, "reason"))
			row_str(row->reason, sizeof(row->reason), v, ve);
		else if (key_is(k, klen, "actor"))
			row_actor(row, v, ve);
	}
	return 1;
}

static void cell_u64(char *buf, size_t len, bool has, uint64_t v)
{
	if (has)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "-");
}

static void cell_str(char *buf, size_t len, const char *s)
{
	copy_safe(buf, len, *s ? s : "-");
}

/* "root(4242)", "uid 1000(77)", "uid 1000", or "-". */
static void cell_actor(char *buf, size_t len, const struct row *row)
{
	const char *name;

	if (!row->has_uid) {
		snprintf(buf, len, "-");
		return;
	}
	name = user_name(row->user, row->uid);
	if (name && row->has_pid && row->pid > 0)
		snprintf(buf, len, "%s(%llu)", name, (unsigned long long)row->pid);
	else if (name)
		snprintf(buf, len, "%s", name);
	else if (row->has_pid && row->pid > 0)
		snprintf(buf, len, "uid %llu(%llu)", (unsigned long long)row->uid,
			 (unsigned long long)row->pid);
	else
		snprintf(buf, len, "uid %llu", (unsigned long long)row->uid);
}

static void row_cell(char *buf, size_t len, enum list_col col, const struct row *row, uint64_t now)
{
	switch (col) {
	case COL_ID:
		cell_u64(buf, len, row->has_id, row->id);
		break;
	case COL_KIND:
		cell_str(buf, len, row->kind);
		break;
	case COL_TARGET:
		cell_str(buf, len, row->target);
		break;
	case COL_TO:
		/* where the traffic goes instead: the backup, the pinned address,
		 * the gateway or the kind of route */
		if (row->type[0] && strcmp(row->type, "via") != 0)
			cell_str(buf, len, row->type);
		else if (row->type[0] && row->dev[0])
			snprintf(buf, len, "via %s dev %s", row->to[0] ? row->to : "-", row->dev);
		else if (row->type[0])
			snprintf(buf, len, "via %s", row->to[0] ? row->to : "-");
		else
			cell_str(buf, len, row->to);
		break;
	case COL_DIR:
		cell_str(buf, len, row->dir);
		break;
	case COL_MODE:
		cell_str(buf, len, row->mode);
		break;
	case COL_AGE:
		if (!row->has_created || row->created == 0)
			snprintf(buf, len, "-");
		else
			fmt_seconds(buf, len, now > row->created ? now - row->created : 0, false);
		break;
	case COL_TTL:
		if (!row->has_expires || row->expires == 0)
			snprintf(buf, len, "-");
		else if (row->expires <= now)
			snprintf(buf, len, "expired");
		else
			fmt_seconds(buf, len, row->expires - now, true);
		break;
	case COL_ORIGIN:
		cell_str(buf, len, row->origin);
		break;
	case COL_ACTOR:
		cell_actor(buf, len, row);
		break;
	case COL_HITS:
		cell_u64(buf, len, row->has_packets, row->packets);
		break;
	case COL_REASON:
	case __COL_MAX:
		cell_str(buf, len, row->reason);
		break;
	}
}

static bool right_aligned(enum list_col col)
{
	return col == COL_ID || col == COL_HITS;
}

static void put_cell(FILE *out, const char *text, size_t width, enum list_col col)
{
	size_t w = text_width(text);

	if (col == COL_REASON) { /* last column: no padding */
		fputs(text, out);
		return;
	}
	if (right_aligned(col))
		pad(out, width - w);
	fputs(text, out);
	if (!right_aligned(col))
		pad(out, width - w);
	fputs("  ", out);
}

void ctl_render_list(FILE *out, const struct ctl_resp *r, uint64_t now)
{
	const char *end = r->items ? r->items + r->items_len : NULL;
	size_t width[__COL_MAX], rows = 0;
	struct ctl_json_it it;
	char cell[CELL_MAX];
	struct row row;
	uint64_t resp_now;
	int c;

	if (json_is_integer(json_object_get(r->obj, "now_ms")) &&
	    (resp_now = (uint64_t)json_integer_value(json_object_get(r->obj, "now_ms"))) > 0)
		now = resp_now; /* the agent's clock: ages agree with its expiries */
	for (c = 0; c < __COL_MAX; c++)
		width[c] = strlen(col_names[c]);
	if (r->items && ctl_json_it_init(&it, r->items, end) == 0) {
		while (next_row(&it, &row) == 1) {
			for (c = 0; c < COL_REASON; c++) {
				size_t w;

				row_cell(cell, sizeof(cell), (enum list_col)c, &row, now);
				w = text_width(cell);
				if (w > width[c])
					width[c] = w;
			}
			rows++;
		}
	}
	if (rows == 0) {
		fputs("no active actions\n", out);
		return;
	}
	for (c = 0; c < __COL_MAX; c++)
		put_cell(out, col_names[c], width[c], (enum list_col)c);
	fputc('\n', out);
	ctl_json_it_init(&it, r->items, end);
	while (next_row(&it, &row) == 1) {
		for (c = 0; c < __COL_MAX; c++) {
			row_cell(cell, sizeof(cell), (enum list_col)c, &row, now);
			put_cell(out, cell, width[c], (enum list_col)c);
		}
		fputc('\n', out);
	}
}

void ctl_render_removed(FILE *out, const struct ctl_resp *r, bool dry_run)
{
	struct ctl_json_it it;
	struct row row;
	size_t n = 0;

	if (r->items && ctl_json_it_init(&it, r->items, r->items + r->items_len) == 0) {
		while (next_row(&it, &row) == 1) {
			char id[24], target[CELL_MAX];

			row_cell(id, sizeof(id), COL_ID, &row, 0);
			row_cell(target, sizeof(target), COL_TARGET, &row, 0);
			fprintf(out, "%s %s %s\n",
				dry_run ? "dry run: would roll back" : "rolled back", id, target);
			n++;
		}
	}
	{ /* a brief answer lists the first few: the rest, and the total */
		const json_t *jc = json_object_get(r->obj, "count");
		size_t count = json_is_integer(jc) && json_integer_value(jc) > 0
				       ? (size_t)json_integer_value(jc)
				       : n;

		if (count > n)
			fprintf(out, "... and %zu more (isolctl --json lists every one)\n"
				     "%s %zu actions\n",
				count - n, dry_run ? "dry run: would roll back" : "rolled back", count);
	}
	if (n == 0)
		fprintf(out, "%s\n",
			dry_run ? "dry run: nothing to roll back" : "nothing rolled back");
	if (dry_run && json_is_array(json_object_get(r->obj, "changes")))
		render_changes(out, r->obj, "dry run: would apply:");
}

/* ---- key: value pages (show, status) */

static void fmt_time(char *buf, size_t len, uint64_t ms, uint64_t now)
{
	char when[64], ago[40];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		snprintf(when, sizeof(when), "%llu ms", (unsigned long long)ms);
	if (now == 0) {
		snprintf(buf, len, "%s", when);
	} else if (ms <= now) {
		fmt_seconds(ago, sizeof(ago), now - ms, false);
		snprintf(buf, len, "%s (%s ago)", when, ago);
	} else {
		fmt_seconds(ago, sizeof(ago), ms - now, true);
		snprintf(buf, len, "%s (in %s)", when, ago);
	}
}

/* How a known field reads. */
enum kv_fmt {
	KV_STR,
	KV_U64,
	KV_BOOL,     /* yes / no */
	KV_TIME,     /* ms since the epoch, with "ago"/"in" */
	KV_EXPIRES,  /* like KV_TIME, 0 = never */
	KV_DURATION, /* ms */
	KV_UPTIME,   /* ms, shown to the second */
	KV_ACTOR,    /* {"uid","pid","comm"} */
	KV_BYTES,    /* "N bytes" */
	KV_MICROS,   /* "N us" */
};

struct kv_field {
	const char *key;
	const char *label;
	enum kv_fmt fmt;
	bool optional; /* printed only when present (else as "-") */
};

/* The action fields of docs/PROTOCOL.md, in the order people read them. */
static const struct kv_field action_fields[] = {
    {"id", "id", KV_U64, false},
    {"kind", "kind", KV_STR, false},
    {"target", "target", KV_STR, false},
    {"direction", "direction", KV_STR, false},
    {"mode", "mode", KV_STR, false},
    {"created_ms", "created", KV_TIME, false},
    {"expires_ms", "expires", KV_EXPIRES, false},
    {"ttl_ms", "ttl", KV_DURATION, false},
    {"origin", "origin", KV_STR, false},
    {"reason", "reason", KV_STR, false},
    {"actor", "actor", KV_ACTOR, false},
    {"packets", "packets", KV_U64, false},
    {"bytes", "bytes", KV_U64, false},
    {"force", "force", KV_BOOL, true},
};

static const struct kv_field status_fields[] = {
    {"version", "version", KV_STR, false},
    {"protocol", "protocol", KV_U64, true},
    {"pid", "pid", KV_U64, false},
    {"uptime_ms", "uptime", KV_UPTIME, false},
    {"socket", "socket", KV_STR, true},
    {"clients", "clients", KV_U64, true},
    {"actions", "actions", KV_U64, false},
    {"next_id", "next_id", KV_U64, true},
    {"table", "table", KV_STR, false},
    {"owner", "owner", KV_BOOL, false},
    {"persist", "persist", KV_BOOL, false},
    {"rebuilds", "rebuilds", KV_U64, true},
    {"state_dir", "state_dir", KV_STR, false},
    {"journal_bytes", "journal", KV_BYTES, false},
    {"batch_us_p50", "batch_p50", KV_MICROS, false},
    {"batch_us_p99", "batch_p99", KV_MICROS, true},
    {"events_seq", "events", KV_U64, true},
    {"watchers", "watchers", KV_U64, true},
    {"notify_pending", "notifying", KV_U64, true},
};

static void fmt_actor_long(char *buf, size_t len, const json_t *actor)
{
	uint64_t uid, pid;
	const char *name = NULL, *comm = get_str(actor, "comm");
	char comm_safe[64] = "";
	int n = 0;

	if (!json_is_object(actor)) {
		snprintf(buf, len, "-");
		return;
	}
	if (get_u64(actor, "uid", &uid)) {
		name = user_name(get_str(actor, "user"), uid);
		n = name ? snprintf(buf, len, "%s (uid %llu)", name, (unsigned long long)uid)
			 : snprintf(buf, len, "uid %llu", (unsigned long long)uid);
	} else {
		n = snprintf(buf, len, "uid ?");
	}
	if (n > 0 && (size_t)n < len && get_u64(actor, "pid", &pid) && pid > 0)
		n += snprintf(buf + n, len - (size_t)n, ", pid %llu", (unsigned long long)pid);
	if (comm && *comm && n > 0 && (size_t)n < len) {
		copy_safe(comm_safe, sizeof(comm_safe), comm);
		snprintf(buf + n, len - (size_t)n, ", %s", comm_safe);
	}
}

static void fmt_value(char *buf, size_t len, const json_t *obj, const struct kv_field *f,
		      uint64_t now)
{
	const json_t *v = json_object_get(obj, f->key);
	uint64_t u;

	switch (f->fmt) {
	case KV_STR:
		fmt_str(buf, len, obj, f->key);
		return;
	case KV_U64:
		fmt_u64(buf, len, obj, f->key);
		return;
	case KV_BOOL:
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "-");
		return;
	case KV_ACTOR:
		fmt_actor_long(buf, len, v);
		return;
	default:
		break;
	}
	if (!get_u64(obj, f->key, &u)) {
		snprintf(buf, len, "-");
		return;
	}
	switch (f->fmt) {
	case KV_TIME:
		fmt_time(buf, len, u, now);
		break;
	case KV_EXPIRES:
		if (u == 0)
			snprintf(buf, len, "never");
		else
			fmt_time(buf, len, u, now);
		break;
	case KV_DURATION:
		if (u == 0)
			snprintf(buf, len, "-");
		else
			isol_duration_format(u, buf, len);
		break;
	case KV_UPTIME:
		if (u < 1000)
			isol_duration_format(u, buf, len);
		else
			fmt_seconds(buf, len, u, false);
		break;
	case KV_BYTES:
		snprintf(buf, len, "%llu bytes", (unsigned long long)u);
		break;
	case KV_MICROS:
		snprintf(buf, len, "%llu us", (unsigned long long)u);
		break;
	default:
		snprintf(buf, len, "%llu", (unsigned long long)u);
		break;
	}
}

/* Any value not in the table: strings as they are, the rest as compact JSON. */
static void fmt_generic(char *buf, size_t len, const json_t *v)
{
	char *dump;

	if (json_is_string(v)) {
		copy_safe(buf, len, json_string_value(v));
		return;
	}
	dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	copy_safe(buf, len, dump ? dump : "-");
	free(dump);
}

static bool is_known(const struct kv_field *fields, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(fields[i].key, key) == 0)
			return true;
	return false;
}

/* Every known field (missing ones as "-"), then whatever else the agent sent
 * except the keys in @skip. Labels are aligned. */
static void render_kv(FILE *out, const json_t *obj, const struct kv_field *fields, size_t n,
		      const char *skip, uint64_t now)
{
	char value[1024];
	const char *key;
	json_t *v;
	size_t i, width = 0;

	if (!json_is_object(obj))
		obj = NULL;
	for (i = 0; i < n; i++)
		if (strlen(fields[i].label) > width)
			width = strlen(fields[i].label);
	if (obj) {
		json_object_foreach((json_t *)(uintptr_t)obj, key, v)
		{
			if (!is_known(fields, n, key) && text_width(key) > width)
				width = text_width(key);
		}
	}
	for (i = 0; i < n; i++) {
		if (fields[i].optional && json_object_get(obj, fields[i].key) == NULL)
			continue;
		fmt_value(value, sizeof(value), obj, &fields[i], now);
		fprintf(out, "%s:", fields[i].label);
		pad(out, width - strlen(fields[i].label) + 1);
		fprintf(out, "%s\n", value);
	}
	if (obj == NULL)
		return;
	json_object_foreach((json_t *)(uintptr_t)obj, key, v)
	{
		char label[CELL_MAX];

		if (is_known(fields, n, key) || (skip && strcmp(key, skip) == 0))
			continue;
		copy_safe(label, sizeof(label), key);
		fmt_generic(value, sizeof(value), v);
		fprintf(out, "%s:", label);
		pad(out, width > text_width(label) ? width - text_width(label) + 1 : 1);
		fprintf(out, "%s\n", value);
	}
}

void ctl_render_show(FILE *out, const json_t *resp, uint64_t now)
{
	uint64_t resp_now;

	if (get_u64(resp, "now_ms", &resp_now) && resp_now > 0)
		now = resp_now; /* the agent's clock, as in list */
	render_kv(out, get_obj(resp, "action"), action_fields,
		  sizeof(action_fields) / sizeof(action_fields[0]), NULL, now);
}

void ctl_render_status(FILE *out, const json_t *resp)
{
	render_kv(out, resp, status_fields, sizeof(status_fields) / sizeof(status_fields[0]), "ok",
		  0);
}

void ctl_render_json(FILE *out, const json_t *resp, bool pretty)
{
	json_dumpf(resp, out, pretty ? JSON_INDENT(2) : JSON_COMPACT);
	fputc('\n', out);
}
