/* fuzz_target.c - libFuzzer harness for the target and duration parsers:
 * any input either parses to something that formats and parses back equal,
 * or is refused with a message; nothing crashes. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isol/duration.h"
#include "isol/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isol_target t, back;
	struct isol_err err = { 0, "" };
	char *s = malloc(size + 1), buf[ISOL_TARGET_STRLEN];
	uint64_t ms;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (isol_target_parse(s, &t, &err) == 0) {
		isol_target_format(&t, buf, sizeof(buf));
		assert(isol_target_parse(buf, &back, NULL) == 0);
		assert(isol_target_equal(&t, &back));
	} else {
		assert(err.msg[0] != '\0');
	}
	isol_err_clear(&err);
	if (isol_duration_parse(s, &ms, &err) == 0) {
		char d[64];
		uint64_t ms2;

		isol_duration_format(ms, d, sizeof(d));
		assert(isol_duration_parse(d, &ms2, NULL) == 0 && ms2 == ms);
	}
	free(s);
	return 0;
}
