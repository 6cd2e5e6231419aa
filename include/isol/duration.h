/* duration.h - human durations: 500ms, 30s, 10m, 2h, 1d, 1h30m. */
#ifndef ISOL_DURATION_H
#define ISOL_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"

/* Parse @s into milliseconds. Returns 0 or -EINVAL (empty, no unit, unknown
 * unit, zero, overflow) with a message in @err. "0" is refused: a TTL of zero
 * would be gone before it was applied; callers that mean "no TTL" omit it. */
int isol_duration_parse(const char *s, uint64_t *ms, struct isol_err *err);

/* Exact form: 90000 -> "1m30s", 1500 -> "1s500ms", 0 -> "0s". */
int isol_duration_format(uint64_t ms, char *buf, size_t len);

/* Milliseconds since the epoch (wall clock) and on the monotonic clock. */
uint64_t isol_now_ms(void);
uint64_t isol_mono_ms(void);

#endif
