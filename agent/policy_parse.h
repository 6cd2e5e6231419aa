/* policy_parse.h - policies from YAML (libyaml's document API): a buffer, a
 * file, or a whole directory loaded all-or-nothing. Every error is one line
 * "FILE:LINE:COL: message" (1-based), and parsing goes on after an error to
 * report all of them; only a YAML syntax error stops its file.
 *
 * A file holds one policy (a mapping), a list of policies, or several
 * documents separated by `---`, each of either shape. The keys are those of
 * struct policy; policies/ has a documented example of each. */
#ifndef ISOL_POLICY_PARSE_H
#define ISOL_POLICY_PARSE_H

#include <stddef.h>

#include "policy.h"

#define POLICY_FILE_MAX	    (4u << 20) /* bytes per file */
#define POLICY_PER_FILE_MAX 10000      /* policies per file */
#define POLICY_NODES_MAX    2000000    /* YAML nodes visited per file (aliases) */

/* The three loaders share one contract. On success they return 0 and
 * *@setp is a new set the caller frees with policy_set_free(); nothing is
 * added to @errs. On any error *@setp is NULL, every problem found is in
 * @errs (which the caller initialised and may already hold lines; it only
 * grows) and the return is -EINVAL for bad contents, or the first I/O error
 * (-ENOENT, -EACCES, ...; also described in @errs), or -ENOMEM.
 *
 * @name is what messages call the buffer ("FILE" above). */
int policy_set_load_buf(const char *name, const char *buf, size_t len, struct policy_set **setp,
			struct policy_errors *errs);

/* One file, whatever its name (`isolctl policy check FILE`). */
int policy_set_load_file(const char *path, struct policy_set **setp, struct policy_errors *errs);

/* Every *.yaml and *.yml file of @dir (not hidden ones), in byte order of
 * their names; names are unique across all of them. Any error in any file
 * fails the whole load, so a reload keeps the running set. A missing
 * directory is -ENOENT (the caller decides whether that means "none"); an
 * empty one is a valid, empty set. */
int policy_set_load_dir(const char *dir, struct policy_set **setp, struct policy_errors *errs);

#endif
