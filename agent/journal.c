/* journal.c - durable intent: records formatted by hand into one buffer,
 * written with one write() and fdatasync() per sync; read back as jansson
 * objects (a fast lexer for our own lines, json_loadb() for anything else).
 * The record format is described in journal.h.
 *
 * The file is kept longer than its records, by zeros written ahead a
 * megabyte at a time: a sync then overwrites blocks that are already there
 * and fdatasync() need not write the inode (its size) too, about a quarter
 * cheaper than after an append on ext4. The records end where the zeros
 * begin; a torn record before them is cut at open as ever. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "isol/wire.h"
#include "journal.h"

#define JOURNAL_FILE	"journal"
#define JOURNAL_TMP	"journal.tmp"
#define JOURNAL_LOCK	"lock"
#define JOURNAL_VERSION 1
/* a sync of a big apply may grow the buffer; give the memory back after it */
#define JOURNAL_BUF_KEEP (1u << 20)
/* zeros written ahead of the records */
#define JOURNAL_AHEAD (1u << 20)

/* A growing output buffer. Once an allocation fails, every put is a no-op
 * and @oom stays set, so a record is checked once, at its end. */
struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* The last record buffered, when it was an isolation's add (valid). The
 * next isolation that differs from it only in its target, and has the next
 * id, is written as {"t":"add+","target":".."}: "as the record before, with
 * the next id and this target". A large apply then journals ~45 bytes an
 * action instead of ~260 (27 MB for 100,000, and the fdatasync of them). */
struct prev_add {
	bool valid;
	uint64_t id, created_ms, expires_ms, ttl_ms;
	unsigned dirs;
	enum isol_mode mode;
	bool force;
	char origin[48];
	struct isol_actor actor;
	char reason[ISOL_REASON_MAX + 1];
};

struct journal {
	int dirfd;
	int fd; /* DIR/journal; written at size + spilled */
	int lockfd;
	char *dir;
	char *path;		/* DIR/journal, for messages */
	struct jbuf buf;	/* records not yet synced */
	uint64_t pending;	/* records in buf */
	uint64_t size, records; /* what is on disk */
	uint64_t alloc;		/* the file's length: zeros from size to alloc */
	uint64_t next_floor;	/* no id below this may be handed out again */
	uint64_t torn;		/* bytes of a torn last record cut away at open */
	bool txn;		/* the buffered records are framed begin .. commit */
	json_t *health;		/* key -> latest health state (replayed and written) */
	uint64_t spilled;	/* bytes of this transaction written, not yet synced */
	struct prev_add prev;	/* the last buffered record, if an isolation's add */
};

/* Several records synced together are one transaction: a "begin" record
 * before them and a "commit" after. Replay ignores a transaction without its
 * commit (a crash while a big apply was being written): an apply is all or
 * nothing on disk as in the kernel. A big transaction is written out in
 * pieces as it grows (no fsync until the end), so an apply of 100,000
 * actions never holds its whole journal text in memory. */
#define TXN_BEGIN "{\"t\":\"begin\"}\n"
#define TXN_COMMIT "{\"t\":\"commit\"}\n"
#define TXN_SPILL (1u << 20)

static bool jbuf_grow(struct jbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

/* Room for @n more bytes. Inline: it runs for every field of every record. */
static inline bool jbuf_reserve(struct jbuf *b, size_t n)
{
	return b->cap - b->len >= n || jbuf_grow(b, n);
}

static void jbuf_free(struct jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static inline void put_mem(struct jbuf *b, const char *s, size_t n)
{
	if (!jbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define put_lit(b, s) put_mem((b), (s), sizeof(s) - 1)

static void put_u64(struct jbuf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_mem(b, tmp + sizeof(tmp) - n, n);
}

static void put_i64(struct jbuf *b, int64_t v)
{
	if (v < 0) {
		put_lit(b, "-");
		put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

/* Length of the well-formed UTF-8 sequence at @s (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), 0 if it is not one. jansson
 * refuses bad UTF-8 on replay, so it must never reach the file. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > avail)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* A JSON string of at most @max bytes of @s (stops at NUL): quotes,
 * backslashes and control characters escaped, each byte of bad UTF-8 as '?'
 * (not U+FFFD: the text read back must not be longer than what was
 * written, or a 200-byte reason would no longer fit on replay). */
static void put_strn(struct jbuf *b, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, run;

	/* worst case: every byte becomes \u00XX (6 bytes) */
	if (!jbuf_reserve(b, 6 * n + 2))
		return;
	b->p[b->len++] = '"';
	while (i < n) {
		unsigned char c = p[i];
		char *o = b->p + b->len;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			b->p[b->len++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			run = utf8_seq(p + i, n - i);
			if (run) {
				memcpy(o, p + i, run);
				b->len += run;
				i += run;
			} else {
				*o = '?';
				b->len++;
				i++;
			}
			continue;
		}
		o[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			o[1] = (char)c;
			break;
		case '\n':
			o[1] = 'n';
			break;
		case '\r':
			o[1] = 'r';
			break;
		case '\t':
			o[1] = 't';
			break;
		case '\b':
			o[1] = 'b';
			break;
		case '\f':
			o[1] = 'f';
			break;
		default:
			memcpy(o + 1, "u00", 3);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 0xf];
			b->len += 6;
			i++;
			continue;
		}
		b->len += 2;
		i++;
	}
	b->p[b->len++] = '"';
}

static void put_str(struct jbuf *b, const char *s)
{
	put_strn(b, s, SIZE_MAX);
}

static void put_actor(struct jbuf *b, const struct isol_actor *actor)
{
	if (actor == NULL) {
		put_lit(b, "null");
		return;
	}
	put_lit(b, "{\"uid\":");
	put_u64(b, actor->uid);
	put_lit(b, ",\"pid\":");
	put_i64(b, actor->pid);
	put_lit(b, ",\"comm\":");
	put_strn(b, actor->comm, sizeof(actor->comm) - 1);
	if (actor->user[0]) {
		put_lit(b, ",\"user\":");
		put_strn(b, actor->user, sizeof(actor->user) - 1);
	}
	put_lit(b, "}");
}

/* The canonical form of isol_target_format(), without its snprintf calls:
 * an apply of 100,000 actions formats 100,000 targets. */
static void put_target(struct jbuf *b, const struct isol_target *t)
{
	bool port = isol_target_has_port(t), brackets = t->family == AF_INET6 && port;
	char a[INET6_ADDRSTRLEN];
	int i;

	put_lit(b, "\"");
	if (brackets)
		put_lit(b, "[");
	if (t->family == AF_INET) {
		for (i = 0; i < 4; i++) {
			if (i)
				put_lit(b, ".");
			put_u64(b, t->addr[i]);
		}
	} else {
		inet_ntop(AF_INET6, t->addr, a, sizeof(a));
		put_mem(b, a, strlen(a));
	}
	if (!isol_target_is_host(t)) {
		put_lit(b, "/");
		put_u64(b, t->plen);
	}
	if (brackets)
		put_lit(b, "]");
	if (port) {
		put_lit(b, ":");
		put_u64(b, t->port_lo);
		if (t->port_hi != t->port_lo) {
			put_lit(b, "-");
			put_u64(b, t->port_hi);
		}
	}
	if (t->proto) {
		const char *proto = isol_proto_name(t->proto);

		put_lit(b, "/");
		put_mem(b, proto, strlen(proto));
	}
	put_lit(b, "\"");
}

static void put_meta(struct jbuf *b, uint64_t next_id)
{
	put_lit(b, "{\"t\":\"meta\",\"v\":1,\"next_id\":");
	put_u64(b, next_id);
	put_lit(b, "}\n");
}

static void put_to(struct jbuf *b, const struct isol_spec *spec)
{
	char to[ISOL_TARGET_STRLEN];

	isol_spec_to_format(spec, to, sizeof(to));
	put_lit(b, ",\"to\":");
	put_str(b, to);
}

static void put_add(struct jbuf *b, const struct isol_action *a)
{
	/* isol_dirs_format() for every bit set, without snprintf */
	static const char *const dirs[ISOL_DIR_ALL + 1] = {
	    "\"\"",    "\"out\"",     "\"in\"",	    "\"out,in\"",
	    "\"fwd\"", "\"out,fwd\"", "\"in,fwd\"", "\"all\"",
	};
	const char *d = dirs[a->spec.dirs & ISOL_DIR_ALL];

	put_lit(b, "{\"t\":\"add\",\"id\":");
	put_u64(b, a->id);
	put_lit(b, ",\"kind\":");
	put_str(b, isol_kind_name(a->spec.kind));
	if (a->spec.kind != ISOL_KIND_PIN) {
		put_lit(b, ",\"target\":");
		put_target(b, &a->spec.target);
	}
	switch (a->spec.kind) {
	case ISOL_KIND_ISOLATE:
		put_lit(b, ",\"direction\":");
		put_mem(b, d, strlen(d));
		put_lit(b, ",\"mode\":");
		put_str(b, isol_mode_name(a->spec.mode));
		break;
	case ISOL_KIND_STEER:
		put_to(b, &a->spec);
		if (a->spec.kill_flows)
			put_lit(b, ",\"kill_flows\":true");
		if (a->spec.no_check)
			put_lit(b, ",\"no_check\":true");
		break;
	case ISOL_KIND_PIN:
		put_lit(b, ",\"host\":");
		put_str(b, a->spec.host);
		put_to(b, &a->spec);
		if (a->spec.check_port) {
			put_lit(b, ",\"check_port\":");
			put_u64(b, a->spec.check_port);
		}
		break;
	case ISOL_KIND_ROUTE:
		put_lit(b, ",\"type\":");
		put_str(b, isol_route_type_name(a->spec.route_type));
		if (a->spec.route_type == ISOL_ROUTE_VIA)
			put_to(b, &a->spec);
		if (a->spec.dev[0]) {
			put_lit(b, ",\"dev\":");
			put_str(b, a->spec.dev);
		}
		if (a->spec.metric) {
			put_lit(b, ",\"metric\":");
			put_u64(b, a->spec.metric);
		}
		if (a->spec.replace)
			put_lit(b, ",\"replace\":true");
		if (a->replaced) {
			put_lit(b, ",\"replaced\":");
			put_str(b, a->replaced);
		}
		break;
	default:
		break;
	}
	if (a->spec.force)
		put_lit(b, ",\"force\":true");
	else
		put_lit(b, ",\"force\":false");
	/* wire.c reads ttl_ms 0 as invalid: absent means no TTL */
	if (a->spec.ttl_ms) {
		put_lit(b, ",\"ttl_ms\":");
		put_u64(b, a->spec.ttl_ms);
	}
	if (a->spec.reason[0]) {
		put_lit(b, ",\"reason\":");
		put_strn(b, a->spec.reason, sizeof(a->spec.reason) - 1);
	}
	put_lit(b, ",\"created_ms\":");
	put_u64(b, a->created_ms);
	put_lit(b, ",\"expires_ms\":");
	put_u64(b, a->expires_ms);
	put_lit(b, ",\"origin\":");
	put_strn(b, a->origin, sizeof(a->origin) - 1);
	put_lit(b, ",\"actor\":");
	put_actor(b, &a->actor);
	put_lit(b, "}\n");
}

static bool like_prev(const struct prev_add *p, const struct isol_action *a)
{
	return p->valid && a->spec.kind == ISOL_KIND_ISOLATE && a->replaced == NULL &&
	       a->id == p->id + 1 && a->created_ms == p->created_ms &&
	       a->expires_ms == p->expires_ms && a->spec.ttl_ms == p->ttl_ms &&
	       a->spec.dirs == p->dirs && a->spec.mode == p->mode && a->spec.force == p->force &&
	       a->actor.uid == p->actor.uid && a->actor.pid == p->actor.pid &&
	       strcmp(a->actor.comm, p->actor.comm) == 0 &&
	       strcmp(a->actor.user, p->actor.user) == 0 && strcmp(a->origin, p->origin) == 0 &&
	       strcmp(a->spec.reason, p->reason) == 0;
}

static void prev_set(struct prev_add *p, const struct isol_action *a)
{
	p->valid = a->spec.kind == ISOL_KIND_ISOLATE && a->replaced == NULL;
	if (!p->valid)
		return;
	p->id = a->id;
	p->created_ms = a->created_ms;
	p->expires_ms = a->expires_ms;
	p->ttl_ms = a->spec.ttl_ms;
	p->dirs = a->spec.dirs;
	p->mode = a->spec.mode;
	p->force = a->spec.force;
	memcpy(p->origin, a->origin, sizeof(p->origin));
	p->actor = a->actor;
	snprintf(p->reason, sizeof(p->reason), "%s", a->spec.reason);
}

/* An add record, or the short form when @prev (may be NULL) allows. */
static void put_add_after(struct jbuf *b, struct prev_add *prev, const struct isol_action *a)
{
	if (prev && like_prev(prev, a)) {
		put_lit(b, "{\"t\":\"add+\",\"target\":");
		put_target(b, &a->spec.target);
		put_lit(b, "}\n");
		prev->id = a->id;
		return;
	}
	put_add(b, a);
	if (prev)
		prev_set(prev, a);
}

/* Close a record started at @start: counted, or rolled back on ENOMEM. */
static int write_records(struct journal *j, const char *p, size_t len, bool ahead);

static int record_end(struct journal *j, size_t start)
{
	if (j->buf.oom) {
		j->buf.oom = false;
		j->buf.len = start;
		return -ENOMEM;
	}
	j->pending++;
	if (j->pending == 2 && !j->txn && j->spilled == 0) {
		/* a second record: frame them (the first moves once) */
		size_t blen = sizeof(TXN_BEGIN) - 1;

		if (!jbuf_reserve(&j->buf, blen)) {
			j->buf.oom = false;
			j->buf.len = start;
			j->pending--;
			return -ENOMEM;
		}
		memmove(j->buf.p + blen, j->buf.p, j->buf.len);
		memcpy(j->buf.p, TXN_BEGIN, blen);
		j->buf.len += blen;
		j->txn = true;
	}
	if (j->txn && j->buf.len >= TXN_SPILL) {
		int rc = write_records(j, j->buf.p, j->buf.len, false);

		if (rc < 0)
			return rc; /* the caller discards; discard cuts the file back */
		j->spilled += j->buf.len;
		j->buf.len = 0;
	}
	return 0;
}

static void raise_floor(struct journal *j, uint64_t id)
{
	if (id != UINT64_MAX && id + 1 > j->next_floor)
		j->next_floor = id + 1;
}

int journal_add(struct journal *j, const struct isol_action *a)
{
	size_t start = j->buf.len;
	struct prev_add saved = j->prev;
	int rc;

	put_add_after(&j->buf, &j->prev, a);
	raise_floor(j, a->id);
	rc = record_end(j, start);
	if (rc < 0)
		j->prev = saved; /* the record is gone from the buffer */
	return rc;
}

int journal_del(struct journal *j, uint64_t id, const char *why, const struct isol_actor *actor,
		uint64_t at_ms)
{
	/* not an add: the next add is written in full (put_add_after) */
	j->prev.valid = false;
	size_t start = j->buf.len;

	put_lit(&j->buf, "{\"t\":\"del\",\"id\":");
	put_u64(&j->buf, id);
	put_lit(&j->buf, ",\"why\":");
	put_str(&j->buf, why ? why : "");
	put_lit(&j->buf, ",\"at_ms\":");
	put_u64(&j->buf, at_ms);
	put_lit(&j->buf, ",\"actor\":");
	put_actor(&j->buf, actor);
	put_lit(&j->buf, "}\n");
	raise_floor(j, id);
	return record_end(j, start);
}

int journal_renew(struct journal *j, uint64_t id, uint64_t expires_ms)
{
	j->prev.valid = false;
	size_t start = j->buf.len;

	put_lit(&j->buf, "{\"t\":\"renew\",\"id\":");
	put_u64(&j->buf, id);
	put_lit(&j->buf, ",\"expires_ms\":");
	put_u64(&j->buf, expires_ms);
	put_lit(&j->buf, "}\n");
	return record_end(j, start);
}

int journal_health(struct journal *j, const char *key, const json_t *state)
{
	j->prev.valid = false;
	size_t start = j->buf.len;
	char *text = json_dumps(state, JSON_COMPACT);

	if (text == NULL)
		return -ENOMEM;
	put_lit(&j->buf, "{\"t\":\"health\",\"key\":");
	put_str(&j->buf, key);
	put_lit(&j->buf, ",\"s\":");
	put_mem(&j->buf, text, strlen(text));
	put_lit(&j->buf, "}\n");
	free(text);
	if (j->health == NULL)
		j->health = json_object();
	if (j->health)
		json_object_set_new(j->health, key, json_deep_copy(state));
	return record_end(j, start);
}

const json_t *journal_health_states(const struct journal *j)
{
	return j->health;
}

int journal_refused(struct journal *j, const char *op, const char *why,
		    const struct isol_actor *actor, uint64_t at_ms)
{
	j->prev.valid = false;
	size_t start = j->buf.len;

	put_lit(&j->buf, "{\"t\":\"refused\",\"at_ms\":");
	put_u64(&j->buf, at_ms);
	put_lit(&j->buf, ",\"op\":");
	put_str(&j->buf, op ? op : "");
	put_lit(&j->buf, ",\"why\":");
	put_str(&j->buf, why ? why : "");
	put_lit(&j->buf, ",\"actor\":");
	put_actor(&j->buf, actor);
	put_lit(&j->buf, "}\n");
	return record_end(j, start);
}

static void cut_to(struct journal *j, uint64_t off);

void journal_discard(struct journal *j)
{
	j->prev.valid = false;
	if (j->spilled)
		cut_to(j, j->size); /* else the next open cuts the transaction */
	j->buf.len = 0;
	j->pending = 0;
	j->txn = false;
	j->spilled = 0;
}

static int pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Zeros over [@from, @to) of the file. */
static int write_zeros(int fd, uint64_t from, uint64_t to)
{
	static const char zeros[65536];
	int rc = 0;

	while (rc == 0 && from < to) {
		size_t n = to - from < sizeof(zeros) ? (size_t)(to - from) : sizeof(zeros);

		rc = pwrite_all(fd, zeros, n, from);
		from += n;
	}
	return rc;
}

/* Append @len bytes of records after what is written; with @ahead, zeros
 * after them when the file is too short (made durable by the next
 * fdatasync, with the size; the syncs after it find the blocks there). A
 * large transaction's pieces go without (each byte is written once); its
 * end, the sync, brings the zeros. */
static int write_records(struct journal *j, const char *p, size_t len, bool ahead)
{
	uint64_t off = j->size + j->spilled, end = off + len;
	int rc = pwrite_all(j->fd, p, len, off);

	if (rc < 0)
		return rc;
	if (end > j->alloc)
		j->alloc = end;
	if (ahead && end + JOURNAL_AHEAD / 2 > j->alloc) {
		uint64_t to = (end + JOURNAL_AHEAD + 65535) & ~(uint64_t)65535;

		rc = write_zeros(j->fd, j->alloc, to);
		if (rc < 0)
			return rc;
		j->alloc = to;
	}
	return 0;
}

/* The records end at @off: the rest of the file goes (or, if the file
 * cannot be cut, is zeroed, so that nothing after @off reads as a record). */
static void cut_to(struct journal *j, uint64_t off)
{
	if (ftruncate(j->fd, (off_t)off) == 0) {
		j->alloc = off;
		return;
	}
	if (write_zeros(j->fd, off, j->alloc) < 0) {
		/* nothing better to do: the next open cuts what does not parse */
	}
}

int journal_write_ahead(struct journal *j)
{
	int rc;

	if (!j->txn || j->buf.len == 0)
		return 0;
	rc = write_records(j, j->buf.p, j->buf.len, false);
	if (rc < 0)
		return rc; /* the caller discards; discard cuts the file back */
	j->spilled += j->buf.len;
	j->buf.len = 0;
	if (fdatasync(j->fd) == -1)
		return -errno;
	return 0;
}

int journal_sync(struct journal *j)
{
	int rc;

	size_t before = j->buf.len;

	if (j->buf.len == 0 && j->spilled == 0)
		return 0;
	if (j->txn) {
		put_lit(&j->buf, TXN_COMMIT);
		if (j->buf.oom) {
			j->buf.oom = false;
			j->buf.len = before;
			return -ENOMEM;
		}
	}
	rc = write_records(j, j->buf.p, j->buf.len, true);
	if (rc == 0 && fdatasync(j->fd) == -1)
		rc = -errno;
	if (rc < 0) {
		j->buf.len = before; /* without the commit: a retry adds it again */
		goto cut_back;
	}
	j->size += j->spilled + j->buf.len;
	j->records += j->pending; /* the framing lines are not records */
	j->spilled = 0;
	journal_discard(j);
	if (j->buf.cap > JOURNAL_BUF_KEEP)
		jbuf_free(&j->buf);
	return 0;

cut_back:
	/* a half-written record would glue itself to the next one */
	cut_to(j, j->size);
	if (j->spilled) {
		/* what was written ahead is gone with the cut: cannot retry */
		j->spilled = 0;
		journal_discard(j);
	}
	return rc;
}

static int pread_all(int fd, char *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under our lock */
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Offset just past the last newline before @end, 0 if there is none. */
static int line_start(int fd, uint64_t end, uint64_t *start)
{
	char chunk[4096];
	const char *nl;
	size_t n;
	int rc;

	while (end > 0) {
		n = end < sizeof(chunk) ? (size_t)end : sizeof(chunk);
		rc = pread_all(fd, chunk, n, end - n);
		if (rc < 0)
			return rc;
		nl = memrchr(chunk, '\n', n);
		if (nl) {
			*start = end - n + (uint64_t)(nl - chunk) + 1;
			return 0;
		}
		end -= n;
	}
	*start = 0;
	return 0;
}

static bool line_parses(const char *line, size_t len)
{
	json_t *o = journal_record_parse(line, len, NULL);

	if (o == NULL)
		return false;
	json_decref(o);
	return true;
}

/* How much of the file to keep: a crash mid-write leaves a last line
 * without its newline, or (on some filesystems) one that does not parse.
 * Only the tail is read; journal_replay() reads the rest. */
static int good_length(int fd, uint64_t size, uint64_t *good)
{
	uint64_t start;
	char last, *line;
	int rc;

	*good = size;
	if (size == 0)
		return 0;
	rc = pread_all(fd, &last, 1, size - 1);
	if (rc < 0)
		return rc;
	if (last != '\n')
		return line_start(fd, size, good);
	rc = line_start(fd, size - 1, &start);
	if (rc < 0 || start == size - 1)
		return rc;
	line = malloc((size_t)(size - 1 - start));
	if (line == NULL)
		return -ENOMEM;
	rc = pread_all(fd, line, (size_t)(size - 1 - start), start);
	if (rc == 0 && !line_parses(line, (size_t)(size - 1 - start)))
		*good = start;
	free(line);
	return rc;
}

/* Where the records end: past the last byte that is not a zero. */
static int data_end(int fd, uint64_t size, uint64_t *end)
{
	char chunk[65536];
	size_t n, i;
	int rc;

	while (size > 0) {
		n = size < sizeof(chunk) ? (size_t)size : sizeof(chunk);
		rc = pread_all(fd, chunk, n, size - n);
		if (rc < 0)
			return rc;
		for (i = n; i > 0; i--) {
			if (chunk[i - 1] != '\0') {
				*end = size - n + i;
				return 0;
			}
		}
		size -= n;
	}
	*end = 0;
	return 0;
}

/* Find the records' end (the zeros written ahead follow it) and cut a torn
 * last record away. */
static int journal_load(struct journal *j, struct isol_err *err)
{
	struct stat st;
	uint64_t end, good;
	int rc;

	if (fstat(j->fd, &st) == -1)
		return isol_err_set(err, -errno, "cannot stat %s: %s", j->path, strerror(errno));
	rc = data_end(j->fd, (uint64_t)st.st_size, &end);
	if (rc == 0)
		rc = good_length(j->fd, end, &good);
	if (rc < 0)
		return isol_err_set(err, rc, "cannot read %s: %s", j->path, strerror(-rc));
	j->alloc = (uint64_t)st.st_size;
	if (good < end) {
		if (ftruncate(j->fd, (off_t)good) == -1 || fsync(j->fd) == -1)
			return isol_err_set(err, -errno,
					    "cannot cut the torn last record of %s: %s", j->path,
					    strerror(errno));
		j->torn = end - good;
		j->alloc = good;
	}
	j->size = good;
	return 0;
}

int journal_open(struct journal **jp, const char *dir, struct isol_err *err)
{
	struct journal *j;
	int rc;

	*jp = NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory opening the journal");
	j->dirfd = j->fd = j->lockfd = -1;
	j->next_floor = 1;
	j->dir = strdup(dir);
	if (j->dir == NULL || asprintf(&j->path, "%s/%s", dir, JOURNAL_FILE) == -1) {
		j->path = NULL;
		rc = isol_err_set(err, -ENOMEM, "out of memory opening the journal");
		goto close_journal;
	}

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		rc = isol_err_set(err, -errno, "cannot create state dir %s: %s", dir,
				  strerror(errno));
		goto close_journal;
	}
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd == -1) {
		rc =
		    isol_err_set(err, -errno, "cannot open state dir %s: %s", dir, strerror(errno));
		goto close_journal;
	}
	j->lockfd = openat(j->dirfd, JOURNAL_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lockfd == -1) {
		rc = isol_err_set(err, -errno, "cannot open %s/%s: %s", dir, JOURNAL_LOCK,
				  strerror(errno));
		goto close_journal;
	}
	if (flock(j->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			rc = isol_err_set(err, -EBUSY, "another isolagent is using %s", dir);
		else
			rc = isol_err_set(err, -errno, "cannot lock %s/%s: %s", dir, JOURNAL_LOCK,
					  strerror(errno));
		goto close_journal;
	}
	/* a compaction that died before its rename leaves this behind */
	unlinkat(j->dirfd, JOURNAL_TMP, 0);

	j->fd = openat(j->dirfd, JOURNAL_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd == -1) {
		rc = isol_err_set(err, -errno, "cannot open %s: %s", j->path, strerror(errno));
		goto close_journal;
	}
	/* make the file's creation durable before anything is acknowledged */
	if (fsync(j->dirfd) == -1) {
		rc = isol_err_set(err, -errno, "cannot fsync %s: %s", dir, strerror(errno));
		goto close_journal;
	}
	rc = journal_load(j, err);
	if (rc < 0)
		goto close_journal;
	*jp = j;
	return 0;

close_journal:
	journal_close(j);
	return rc;
}

void journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);
	if (j->lockfd != -1)
		close(j->lockfd); /* releases the flock */
	if (j->dirfd != -1)
		close(j->dirfd);
	jbuf_free(&j->buf);
	json_decref(j->health);
	free(j->path);
	free(j->dir);
	free(j);
}

/* Reading records. jansson's own lexer costs ~6 us for a 270-byte record,
 * which makes a replay of 100,000 actions take most of a second. The lines
 * this file writes are flat objects of strings, integers and booleans, so a
 * strict lexer for that subset of JSON builds the same json_t directly; on
 * anything outside the subset (escapes, reals, arrays, errors) it gives up
 * and json_loadb() has the final word, with its own error message. */
struct lexer {
	const char *p, *end;
	int depth;
};

static void lex_ws(struct lexer *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' || *l->p == '\n'))
		l->p++;
}

/* A string without escapes, its UTF-8 checked; at the opening quote. */
static int lex_string(struct lexer *l, const char **s, size_t *n)
{
	const unsigned char *start = (const unsigned char *)l->p + 1, *p = start;
	const unsigned char *end = (const unsigned char *)l->end;
	size_t k;

	while (p < end) {
		if (*p == '"') {
			*s = (const char *)start;
			*n = (size_t)(p - start);
			l->p = (const char *)p + 1;
			return 0;
		}
		if (*p < 0x20 || *p == '\\')
			return -1;
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = utf8_seq(p, (size_t)(end - p));
		if (k == 0)
			return -1;
		p += k;
	}
	return -1;
}

static bool lex_digit(const struct lexer *l, const char *p)
{
	return p < l->end && *p >= '0' && *p <= '9';
}

static json_t *lex_integer(struct lexer *l)
{
	const char *p = l->p;
	bool neg = *p == '-';
	uint64_t v = 0;

	if (neg)
		p++;
	if (!lex_digit(l, p) || (*p == '0' && lex_digit(l, p + 1)))
		return NULL; /* no digits, or a leading zero */
	while (lex_digit(l, p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (p < l->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return NULL; /* a real */
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return NULL;
	l->p = p;
	return json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
}

static json_t *lex_word(struct lexer *l, const char *word, json_t *value)
{
	size_t n = strlen(word);

	if ((size_t)(l->end - l->p) < n || memcmp(l->p, word, n) != 0)
		return NULL;
	l->p += n;
	return value;
}

static json_t *lex_object(struct lexer *l);

static json_t *lex_value(struct lexer *l)
{
	const char *s;
	size_t n;

	if (l->p >= l->end)
		return NULL;
	switch (*l->p) {
	case '{':
		return lex_object(l);
	case '"':
		return lex_string(l, &s, &n) < 0 ? NULL : json_stringn_nocheck(s, n);
	case 't':
		return lex_word(l, "true", json_true());
	case 'f':
		return lex_word(l, "false", json_false());
	case 'n':
		return lex_word(l, "null", json_null());
	}
	return lex_integer(l);
}

static json_t *lex_object(struct lexer *l)
{
	const char *key;
	size_t klen;
	json_t *o, *v;

	if (++l->depth > 4)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	l->p++;
	lex_ws(l);
	if (l->p < l->end && *l->p == '}')
		goto done;
	for (;;) {
		if (l->p >= l->end || *l->p != '"' || lex_string(l, &key, &klen) < 0)
			goto bail;
		lex_ws(l);
		if (l->p >= l->end || *l->p != ':')
			goto bail;
		l->p++;
		lex_ws(l);
		v = lex_value(l);
		/* duplicate keys: the last one wins, as in json_loadb() */
		if (v == NULL || json_object_setn_new_nocheck(o, key, klen, v) < 0)
			goto bail;
		lex_ws(l);
		if (l->p < l->end && *l->p == '}')
			goto done;
		if (l->p >= l->end || *l->p != ',')
			goto bail;
		l->p++;
		lex_ws(l);
	}
done:
	l->p++;
	l->depth--;
	return o;
bail:
	json_decref(o);
	return NULL;
}

json_t *journal_record_parse(const char *line, size_t len, json_error_t *error)
{
	struct lexer l = {line, line + len, 0};
	json_t *o = NULL;

	lex_ws(&l);
	if (l.p < l.end && *l.p == '{')
		o = lex_object(&l);
	lex_ws(&l);
	if (o && l.p == l.end)
		return o;
	json_decref(o);
	return json_loadb(line, len, 0, error);
}

/* Replay helpers: each returns 0 or -EBADMSG with a message in @le. */

static int get_u64(const json_t *o, const char *key, bool required, uint64_t max, uint64_t *out,
		   struct isol_err *le)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		if (required)
			return isol_err_set(le, -EBADMSG, "missing field '%s'", key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return isol_err_set(le, -EBADMSG, "field '%s' must be an integer 0..%llu", key,
				    (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_id(const json_t *o, uint64_t *id, struct isol_err *le)
{
	if (get_u64(o, "id", true, INT64_MAX, id, le) < 0)
		return -EBADMSG;
	if (*id == 0)
		return isol_err_set(le, -EBADMSG, "id 0 is not an action id");
	return 0;
}

/* An optional string into a fixed buffer, cut to fit: these fields only
 * describe the action, and are no reason to lose it. */
static int get_str(const json_t *o, const char *key, char *out, size_t size, struct isol_err *le)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return isol_err_set(le, -EBADMSG, "field '%s' must be a string", key);
	n = json_string_length(v) < size ? json_string_length(v) : size - 1;
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	return 0;
}

/* The route a route action replaced: a line of words, owned by the action. */
static int get_replaced(const json_t *o, struct isol_action *a, struct isol_err *le)
{
	json_t *v = json_object_get(o, "replaced");

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return isol_err_set(le, -EBADMSG, "field 'replaced' must be a string");
	a->replaced = strdup(json_string_value(v));
	return a->replaced ? 0 : isol_err_set(le, -ENOMEM, "out of memory");
}

static int get_actor(const json_t *o, struct isol_actor *actor, struct isol_err *le)
{
	json_t *v = json_object_get(o, "actor");
	uint64_t uid = 0, pid = 0;
	json_t *jp;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return isol_err_set(le, -EBADMSG, "field 'actor' must be an object");
	if (get_u64(v, "uid", false, UINT32_MAX, &uid, le) < 0 ||
	    get_str(v, "comm", actor->comm, sizeof(actor->comm), le) < 0 ||
	    get_str(v, "user", actor->user, sizeof(actor->user), le) < 0)
		return -EBADMSG;
	jp = json_object_get(v, "pid");
	if (jp && (!json_is_integer(jp) || json_integer_value(jp) < INT32_MIN ||
		   json_integer_value(jp) > INT32_MAX))
		return isol_err_set(le, -EBADMSG, "field 'actor.pid' must be a 32-bit integer");
	if (jp)
		pid = (uint64_t)json_integer_value(jp);
	actor->uid = (uint32_t)uid;
	actor->pid = (int32_t)pid;
	return 0;
}

static int replay_add(struct isol_actions *set, const json_t *o, uint64_t *max_id,
		      struct isol_action **out, struct isol_err *le)
{
	struct isol_action *a;
	int rc;

	a = action_new();
	if (a == NULL)
		return -ENOMEM;
	if (get_id(o, &a->id, le) < 0) {
		rc = -EBADMSG;
		goto free_action;
	}
	/* even a record skipped below keeps its id from being handed out again */
	if (a->id > *max_id)
		*max_id = a->id;
	if (isol_spec_from_json(o, &a->spec, le) < 0 ||
	    get_u64(o, "created_ms", false, INT64_MAX, &a->created_ms, le) < 0 ||
	    get_u64(o, "expires_ms", false, INT64_MAX, &a->expires_ms, le) < 0 ||
	    get_str(o, "origin", a->origin, sizeof(a->origin), le) < 0 ||
	    get_replaced(o, a, le) < 0 ||
	    get_actor(o, &a->actor, le) < 0) {
		rc = -EBADMSG;
		goto free_action;
	}
	a = action_shrink(a);
	rc = actions_insert(set, a);
	if (rc == -EEXIST)
		rc = isol_err_set(le, -EBADMSG, "duplicate id %llu", (unsigned long long)a->id);
	if (rc < 0)
		goto free_action;
	*out = a;
	return 0;

free_action:
	action_free(a);
	return rc;
}

/* {"t":"add+","target":T}: the isolation of the record before (@prev), with
 * the next id and target T (put_add_after). */
static int replay_add_like(struct isol_actions *set, const json_t *o, struct isol_action *prev,
			   uint64_t *max_id, struct isol_action **out, struct isol_err *le)
{
	const char *target = json_string_value(json_object_get(o, "target"));
	struct isol_action *a;
	int rc;

	if (prev == NULL || prev->spec.kind != ISOL_KIND_ISOLATE)
		return isol_err_set(le, -EBADMSG, "an \"add+\" record after no isolation's add");
	if (target == NULL)
		return isol_err_set(le, -EBADMSG, "field 'target' must be a string");
	a = action_new();
	if (a == NULL)
		return -ENOMEM;
	a->id = prev->id + 1;
	if (a->id > *max_id)
		*max_id = a->id;
	a->created_ms = prev->created_ms;
	a->expires_ms = prev->expires_ms;
	memcpy(a->origin, prev->origin, sizeof(a->origin));
	a->actor = prev->actor;
	/* @prev is shrunk (actions.h): its spec up to the reason, then that */
	memcpy(&a->spec, &prev->spec, offsetof(struct isol_spec, reason));
	snprintf(a->spec.reason, sizeof(a->spec.reason), "%s", prev->spec.reason);
	if (isol_target_parse(target, &a->spec.target, le) < 0) {
		rc = -EBADMSG;
		goto free_action;
	}
	a = action_shrink(a);
	rc = actions_insert(set, a);
	if (rc == -EEXIST)
		rc = isol_err_set(le, -EBADMSG, "duplicate id %llu", (unsigned long long)a->id);
	if (rc < 0)
		goto free_action;
	*out = a;
	return 0;

free_action:
	action_free(a);
	return rc;
}

static int replay_line(struct isol_actions *set, const char *line, size_t len, uint64_t *max_id,
		       uint64_t *meta_next, struct isol_action **prev, struct isol_err *le)
{
	struct isol_action *added = NULL;
	json_error_t jerr;
	const char *t;
	uint64_t id, v = 0;
	json_t *o;
	int rc = 0;

	struct isol_action *before = *prev;

	*prev = NULL;
	o = journal_record_parse(line, len, &jerr);
	if (o == NULL)
		return isol_err_set(le, -EBADMSG, "not JSON: %s", jerr.text);
	t = json_string_value(json_object_get(o, "t"));
	if (t == NULL) {
		rc = isol_err_set(le, -EBADMSG, "record without a \"t\" type");
	} else if (strcmp(t, "add") == 0) {
		rc = replay_add(set, o, max_id, &added, le);
	} else if (strcmp(t, "add+") == 0) {
		rc = replay_add_like(set, o, before, max_id, &added, le);
	} else if (strcmp(t, "del") == 0) {
		rc = get_id(o, &id, le);
		if (rc == 0) {
			struct isol_action *a = actions_find(set, id);

			if (a) {
				actions_remove(set, a);
				action_free(a);
			}
			if (id > *max_id)
				*max_id = id;
		}
	} else if (strcmp(t, "renew") == 0) {
		rc = get_id(o, &id, le);
		if (rc == 0)
			rc = get_u64(o, "expires_ms", true, INT64_MAX, &v, le);
		if (rc == 0) {
			struct isol_action *a = actions_find(set, id);

			if (a)
				a->expires_ms = v;
		}
	} else if (strcmp(t, "meta") == 0) {
		rc = get_u64(o, "v", true, INT64_MAX, &v, le);
		if (rc == 0 && v != JOURNAL_VERSION)
			rc =
			    isol_err_set(le, -EBADMSG, "journal version %llu (this agent reads %d)",
					 (unsigned long long)v, JOURNAL_VERSION);
		if (rc == 0)
			rc = get_u64(o, "next_id", true, INT64_MAX, &v, le);
		if (rc == 0 && v > *meta_next)
			*meta_next = v;
	} else if (strcmp(t, "begin") != 0 && strcmp(t, "commit") != 0 &&
		   strcmp(t, "refused") != 0) {
		rc = isol_err_set(le, -EBADMSG, "unknown record type '%.32s'", t);
	}
	*prev = added; /* what an "add+" next would be like */
	json_decref(o);
	return rc;
}

/* A health record: kept by key, the latest wins. A bad one is dropped: the
 * state machine then starts that target afresh, the safe default. */
static void replay_health(struct journal *j, const char *line, size_t len)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *key = json_string_value(json_object_get(o, "key"));
	json_t *state = json_object_get(o, "s");

	if (key && json_is_object(state)) {
		if (j->health == NULL)
			j->health = json_object();
		if (j->health)
			json_object_set(j->health, key, state);
	}
	json_decref(o);
}

/* Is there a commit record after @from (a line of its own)? */
static bool txn_committed(const char *map, size_t len, size_t from)
{
	size_t clen = sizeof(TXN_COMMIT) - 1;
	const char *p = map + from, *end = map + len;

	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), TXN_COMMIT, clen);

		if (hit == NULL)
			return false;
		if (hit == map || hit[-1] == '\n')
			return true;
		p = hit + 1;
	}
	return false;
}

static void log_txn_cut(struct journal *j, size_t off, uint64_t lineno)
{
	j->torn += j->size - off;
	j->size = off;
	cut_to(j, off);
	(void)lineno;
}

int journal_replay(struct journal *j, struct isol_actions *set, struct isol_err *err)
{
	uint64_t max_id = 0, meta_next = 0, lineno = 0;
	size_t len = (size_t)j->size, maplen = len, off = 0;
	uint64_t framing = 0;
	struct isol_action *prev = NULL; /* the action of the line before, if an add */
	char *map = NULL;
	int rc = 0, bad = 0;

	/* mapped, not read: 100,000 records are ~27 MB */
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, j->fd, 0);
		if (map == MAP_FAILED)
			return isol_err_set(err, -errno, "cannot map %s: %s", j->path,
					    strerror(errno));
		madvise(map, len, MADV_SEQUENTIAL);
	}
	while (off < len) {
		const char *line = map + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		struct isol_err le = {0};

		lineno++;
		if (n == sizeof(TXN_BEGIN) - 2 && memcmp(line, TXN_BEGIN, n) == 0 &&
		    !txn_committed(map, len, off + n + 1)) {
			/* a transaction that never committed (a crash while it was
			 * written): none of it happened; cut it off the file */
			log_txn_cut(j, off, lineno);
			len = off;
			break;
		}
		off += n + 1;
		if (n == 0) {
			prev = NULL;
			continue;
		}
		if ((n == sizeof(TXN_BEGIN) - 2 && memcmp(line, TXN_BEGIN, n) == 0) ||
		    (n == sizeof(TXN_COMMIT) - 2 && memcmp(line, TXN_COMMIT, n) == 0)) {
			framing++;
			prev = NULL;
			continue;
		}
		if (n > 20 && memcmp(line, "{\"t\":\"health\",", sizeof("{\"t\":\"health\",") - 1) == 0) {
			replay_health(j, line, n);
			prev = NULL;
			continue;
		}
		rc = replay_line(set, line, n, &max_id, &meta_next, &prev, &le);
		if (rc == -ENOMEM) {
			rc = isol_err_set(err, -ENOMEM, "%s:%llu: out of memory", j->path,
					  (unsigned long long)lineno);
			goto unmap;
		}
		if (rc < 0) {
			isol_err_set(err, -EBADMSG, "%s:%llu: %s (record skipped)", j->path,
				     (unsigned long long)lineno, le.msg);
			bad++;
		}
	}
	j->records = lineno - framing;
	if (max_id + 1 > meta_next)
		meta_next = max_id + 1;
	if (meta_next > set->next_id)
		set->next_id = meta_next;
	if (meta_next > j->next_floor)
		j->next_floor = meta_next;
	rc = bad;

unmap:
	if (map)
		munmap(map, maplen);
	return rc;
}

static int fsync_dir(struct journal *j, struct isol_err *err)
{
	if (fsync(j->dirfd) == -1)
		return isol_err_set(err, -errno, "cannot fsync %s: %s", j->dir, strerror(errno));
	return 0;
}

int journal_compact(struct journal *j, const struct isol_actions *set, struct isol_err *err)
{
	uint64_t next_id = set->next_id > j->next_floor ? set->next_id : j->next_floor;
	struct jbuf out = {0};
	struct prev_add prev = {0};
	const struct isol_action *a;
	uint64_t records = 1;
	int fd, rc;

	if (j->buf.len != 0)
		return isol_err_set(err, -EBUSY,
				    "journal has records not yet synced; sync before compacting");
	put_meta(&out, next_id);
	if (j->health) {
		const char *key;
		json_t *state;

		json_object_foreach(j->health, key, state) {
			char *text = json_dumps(state, JSON_COMPACT);

			if (text == NULL)
				continue;
			put_lit(&out, "{\"t\":\"health\",\"key\":");
			put_str(&out, key);
			put_lit(&out, ",\"s\":");
			put_mem(&out, text, strlen(text));
			put_lit(&out, "}\n");
			free(text);
		}
	}
	for (a = set->head; a; a = a->next) {
		put_add_after(&out, &prev, a);
		records++;
	}
	if (out.oom) {
		rc = isol_err_set(err, -ENOMEM, "out of memory compacting %s", j->path);
		goto free_out;
	}
	/* after the rename this fd is the journal */
	fd = openat(j->dirfd, JOURNAL_TMP, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		rc = isol_err_set(err, -errno, "cannot create %s/%s: %s", j->dir, JOURNAL_TMP,
				  strerror(errno));
		goto free_out;
	}
	rc = pwrite_all(fd, out.p, out.len, 0);
	if (rc == 0 && fsync(fd) == -1)
		rc = -errno;
	if (rc < 0) {
		isol_err_set(err, rc, "cannot write %s/%s: %s", j->dir, JOURNAL_TMP, strerror(-rc));
		goto unlink_tmp;
	}
	if (renameat(j->dirfd, JOURNAL_TMP, j->dirfd, JOURNAL_FILE) == -1) {
		rc = isol_err_set(err, -errno, "cannot rename %s/%s over %s: %s", j->dir,
				  JOURNAL_TMP, j->path, strerror(errno));
		goto unlink_tmp;
	}
	close(j->fd);
	j->fd = fd;
	j->size = out.len;
	j->alloc = out.len;
	j->records = records;
	j->next_floor = next_id;
	rc = fsync_dir(j, err);
	goto free_out;

unlink_tmp:
	unlinkat(j->dirfd, JOURNAL_TMP, 0);
	close(fd);
free_out:
	jbuf_free(&out);
	return rc;
}

uint64_t journal_size(const struct journal *j)
{
	return j->size;
}

uint64_t journal_records(const struct journal *j)
{
	return j->records;
}

uint64_t journal_torn_bytes(const struct journal *j)
{
	return j->torn;
}
