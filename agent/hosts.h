/* hosts.h - the managed block of the hosts file: a pure text transform
 * (parse, render) and the atomic write. Everything outside the block is
 * kept byte for byte; the file's line endings (LF or CRLF) are kept.
 *
 *   # BEGIN isol (managed by isolagent: isolctl list / rollback; do not edit)
 *   10.0.0.6	mq.internal	# isol:12
 *   # END isol
 *   ...the operator's lines...
 * A new block goes at the top: the resolver answers with the first line that
 * names a host, so a pin wins over the file's own entry for it. */
#ifndef ISOL_HOSTS_H
#define ISOL_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/strbuf.h"

#define HOSTS_NAME_MAX 253

struct hosts_pin {
	uint64_t id;
	char host[HOSTS_NAME_MAX + 1];
	char addr[48];
};

/* A valid hostname for the hosts file: labels of [A-Za-z0-9-_], dots between,
 * at most 253 bytes. */
int hosts_name_valid(const char *name);

/* Write into @out the file @in (length @len) with its managed block replaced
 * by one holding @pins (a new one at the top); with @n == 0 the block is
 * removed and the file is what it was before the first pin, byte for byte.
 * Several blocks (hand edits) become one, at the place of the first. */
int hosts_render(const char *in, size_t len, const struct hosts_pin *pins, size_t n,
		 struct strbuf *out);

/* Does @in hold exactly the block render would write for @pins? 1 yes, 0 no. */
int hosts_block_matches(const char *in, size_t len, const struct hosts_pin *pins, size_t n);

/* Replace @path with @data: a temp file in the same directory, fsync,
 * rename, fsync the directory; mode and owner of the old file are kept.
 * When rename fails with EBUSY (a bind-mounted file, as in containers) the
 * file is rewritten in place under an flock. 0 or -errno with a message. */
int hosts_write(const char *path, const char *data, size_t len, struct isol_err *err);

/* hosts_write(), but only if the file still holds @was (read before the
 * render): -EAGAIN when someone changed it meanwhile, so their edit is not
 * lost under ours. */
int hosts_write_if_same(const char *path, const struct strbuf *was, const char *data, size_t len,
			struct isol_err *err);

/* Read the whole file into @out. 0 or -errno with a message. */
int hosts_read(const char *path, struct strbuf *out, struct isol_err *err);

#endif
