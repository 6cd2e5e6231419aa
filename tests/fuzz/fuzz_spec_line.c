/* fuzz_spec_line.c - libFuzzer harness for apply lines (the words of a verb,
 * quotes, comments) and the wire decoder of a spec. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isol/spec.h"
#include "isol/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isol_err err = { 0, "" };
	struct isol_spec spec, back;
	char *s = malloc(size + 1), line[1024];
	json_t *j;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (isol_spec_parse_line(s, &spec, &err) == 0) {
		/* what we print parses back to the same action */
		isol_spec_format(&spec, line, sizeof(line));
		assert(isol_spec_parse_line(line, &back, NULL) == 0);
		assert(isol_target_equal(&spec.target, &back.target));
		assert(spec.dirs == back.dirs && spec.mode == back.mode && spec.ttl_ms == back.ttl_ms);
	}
	j = json_loadb(s, size, 0, NULL);
	if (j) {
		isol_err_clear(&err);
		if (isol_spec_from_json(j, &spec, &err) < 0)
			assert(err.msg[0] != '\0');
		json_decref(j);
	}
	free(s);
	return 0;
}
