/* wire.c - isol_spec <-> JSON for the control protocol (docs/PROTOCOL.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isol/wire.h"

const char *isol_socket_path(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv(ISOL_SOCKET_ENV);
	if (env && *env)
		return env;
	return ISOL_DEFAULT_SOCKET;
}

json_t *isol_spec_to_json(const struct isol_spec *spec)
{
	char target[ISOL_TARGET_STRLEN], dirs[32];
	json_t *o;

	isol_target_format(&spec->target, target, sizeof(target));
	isol_dirs_format(spec->dirs, dirs, sizeof(dirs));
	o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "kind", isol_kind_name(spec->kind), "target",
		      target, "direction", dirs, "mode", isol_mode_name(spec->mode), "force",
		      spec->force);
	if (o == NULL)
		return NULL;
	if (spec->ttl_ms)
		json_object_set_new(o, "ttl_ms", json_integer((json_int_t)spec->ttl_ms));
	if (spec->reason[0])
		json_object_set_new(o, "reason", json_string(spec->reason));
	return o;
}

static int get_string(const json_t *obj, const char *key, const char **out, bool required,
		      struct isol_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (required)
			return isol_err_set(err, -EINVAL, "missing field '%s'", key);
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return isol_err_set(err, -EINVAL, "field '%s' must be a string", key);
	*out = json_string_value(v);
	return 0;
}

int isol_spec_from_json(const json_t *obj, struct isol_spec *spec, struct isol_err *err)
{
	const char *kind, *target, *dir, *mode, *reason;
	json_t *v;

	isol_spec_init(spec);
	if (!json_is_object(obj))
		return isol_err_set(err, -EINVAL, "request must be a JSON object");
	if (get_string(obj, "kind", &kind, false, err) < 0 ||
	    get_string(obj, "target", &target, true, err) < 0 ||
	    get_string(obj, "direction", &dir, false, err) < 0 ||
	    get_string(obj, "mode", &mode, false, err) < 0 ||
	    get_string(obj, "reason", &reason, false, err) < 0)
		return -EINVAL;
	if (kind && strcmp(kind, "isolate") != 0)
		return isol_err_set(err, -EINVAL, "unknown kind '%s'", kind);
	if (isol_target_parse(target, &spec->target, err) < 0)
		return -EINVAL;
	if (dir && isol_dirs_parse(dir, &spec->dirs) < 0)
		return isol_err_set(err, -EINVAL, "bad direction '%s' (out, in, fwd, all)", dir);
	if (mode && isol_mode_parse(mode, &spec->mode) < 0)
		return isol_err_set(err, -EINVAL, "bad mode '%s' (reject or drop)", mode);
	if (reason) {
		if (strlen(reason) > ISOL_REASON_MAX || strpbrk(reason, "\r\n"))
			return isol_err_set(err, -EINVAL,
					    "reason must be one line of at most %d bytes",
					    ISOL_REASON_MAX);
		strcpy(spec->reason, reason);
	}
	v = json_object_get(obj, "ttl_ms");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > (json_int_t)(100ll * 365 * 86400000ll))
			return isol_err_set(err, -EINVAL,
					    "ttl_ms must be a positive integer (max 100 years)");
		spec->ttl_ms = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(obj, "force");
	if (v) {
		if (!json_is_boolean(v))
			return isol_err_set(err, -EINVAL, "force must be true or false");
		spec->force = json_is_true(v);
	}
	return 0;
}
