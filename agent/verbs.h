/* verbs.h - the control request handler (one JSON line in, one out). */
#ifndef ISOL_VERBS_H
#define ISOL_VERBS_H

#include <stddef.h>

#include "control.h"

/* control_handler_fn; @ctx is the struct isol_agent. */
void verbs_handle(void *ctx, const struct control_peer *peer, char *line, size_t len,
		  struct strbuf *out);

#endif
