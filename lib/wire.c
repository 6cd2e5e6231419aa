/* wire.c - isol_spec <-> JSON for the control protocol (docs/PROTOCOL.md). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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
	char target[ISOL_TARGET_STRLEN], to[ISOL_TARGET_STRLEN], dirs[32];
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	isol_target_format(&spec->target, target, sizeof(target));
	isol_spec_to_format(spec, to, sizeof(to));
	json_object_set_new(o, "kind", json_string(isol_kind_name(spec->kind)));
	switch (spec->kind) {
	case ISOL_KIND_ISOLATE:
		isol_dirs_format(spec->dirs, dirs, sizeof(dirs));
		json_object_set_new(o, "target", json_string(target));
		json_object_set_new(o, "direction", json_string(dirs));
		json_object_set_new(o, "mode", json_string(isol_mode_name(spec->mode)));
		break;
	case ISOL_KIND_STEER:
		json_object_set_new(o, "target", json_string(target));
		json_object_set_new(o, "to", json_string(to));
		json_object_set_new(o, "kill_flows", json_boolean(spec->kill_flows));
		json_object_set_new(o, "no_check", json_boolean(spec->no_check));
		break;
	case ISOL_KIND_PIN:
		json_object_set_new(o, "host", json_string(spec->host));
		json_object_set_new(o, "to", json_string(to));
		if (spec->check_port)
			json_object_set_new(o, "check_port", json_integer(spec->check_port));
		break;
	case ISOL_KIND_ROUTE:
		json_object_set_new(o, "target", json_string(target));
		json_object_set_new(o, "type", json_string(isol_route_type_name(spec->route_type)));
		if (spec->route_type == ISOL_ROUTE_VIA)
			json_object_set_new(o, "to", json_string(to));
		if (spec->dev[0])
			json_object_set_new(o, "dev", json_string(spec->dev));
		if (spec->metric)
			json_object_set_new(o, "metric", json_integer(spec->metric));
		json_object_set_new(o, "replace", json_boolean(spec->replace));
		break;
	default:
		break;
	}
	json_object_set_new(o, "force", json_boolean(spec->force));
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

static int get_flag(const json_t *obj, const char *key, bool *out, struct isol_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return isol_err_set(err, -EINVAL, "field '%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int get_uint(const json_t *obj, const char *key, json_int_t max, json_int_t *out,
		    struct isol_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return isol_err_set(err, -EINVAL, "field '%s' must be an integer from 0 to %lld",
				    key, (long long)max);
	*out = json_integer_value(v);
	return 1;
}

/* Build the words of the verb from the fields and parse them with the one
 * parser the CLI and apply files use: the wire cannot accept what the CLI
 * would refuse, or the other way round. */
int isol_spec_from_json(const json_t *obj, struct isol_spec *spec, struct isol_err *err)
{
	const char *kind = NULL, *target, *dir, *mode, *reason, *to, *host, *type, *dev;
	char *argv[24], num[3][24];
	int argc = 0;
	json_int_t n;
	bool flag;
	int rc;

	isol_spec_init(spec);
	if (!json_is_object(obj))
		return isol_err_set(err, -EINVAL, "request must be a JSON object");
	if (get_string(obj, "kind", &kind, false, err) < 0 ||
	    get_string(obj, "target", &target, false, err) < 0 ||
	    get_string(obj, "direction", &dir, false, err) < 0 ||
	    get_string(obj, "mode", &mode, false, err) < 0 ||
	    get_string(obj, "reason", &reason, false, err) < 0 ||
	    get_string(obj, "to", &to, false, err) < 0 ||
	    get_string(obj, "host", &host, false, err) < 0 ||
	    get_string(obj, "type", &type, false, err) < 0 ||
	    get_string(obj, "dev", &dev, false, err) < 0)
		return -EINVAL;
	if (kind == NULL)
		kind = "isolate";
	if (isol_kind_parse(kind, &spec->kind) < 0)
		return isol_err_set(err, -EINVAL, "unknown kind '%s'", kind);
	argv[argc++] = (char *)(uintptr_t)kind;
	switch (spec->kind) {
	case ISOL_KIND_PIN:
		if (host == NULL || to == NULL)
			return isol_err_set(err, -EINVAL, "pin needs fields 'host' and 'to'");
		argv[argc++] = (char *)(uintptr_t)host;
		argv[argc++] = (char *)(uintptr_t)to;
		break;
	case ISOL_KIND_ROUTE:
		if (target == NULL)
			return isol_err_set(err, -EINVAL, "missing field 'target'");
		argv[argc++] = (char *)(uintptr_t)target;
		if (type == NULL)
			type = "via";
		argv[argc++] = (char *)(uintptr_t)type;
		if (strcmp(type, "via") == 0) {
			if (to == NULL)
				return isol_err_set(err, -EINVAL, "route via needs field 'to'");
			argv[argc++] = (char *)(uintptr_t)to;
		}
		if (dev) {
			argv[argc++] = (char *)(uintptr_t)"dev";
			argv[argc++] = (char *)(uintptr_t)dev;
		}
		break;
	default:
		if (target == NULL)
			return isol_err_set(err, -EINVAL, "missing field 'target'");
		if (target[0] == '-')
			return isol_err_set(err, -EINVAL, "bad target '%s'", target);
		argv[argc++] = (char *)(uintptr_t)target;
		if (to) {
			argv[argc++] = (char *)(uintptr_t)"--to";
			argv[argc++] = (char *)(uintptr_t)to;
		}
		break;
	}
	if (dir) {
		argv[argc++] = (char *)(uintptr_t)"--direction";
		argv[argc++] = (char *)(uintptr_t)dir;
	}
	if (mode) {
		argv[argc++] = (char *)(uintptr_t)"--mode";
		argv[argc++] = (char *)(uintptr_t)mode;
	}
	if ((rc = get_uint(obj, "check_port", 65535, &n, err)) < 0)
		return -EINVAL;
	if (rc) {
		snprintf(num[0], sizeof(num[0]), "%lld", (long long)n);
		argv[argc++] = (char *)(uintptr_t)"--check-port";
		argv[argc++] = num[0];
	}
	if ((rc = get_uint(obj, "metric", 0xffffffffll, &n, err)) < 0)
		return -EINVAL;
	if (rc) {
		snprintf(num[1], sizeof(num[1]), "%lld", (long long)n);
		argv[argc++] = (char *)(uintptr_t)"--metric";
		argv[argc++] = num[1];
	}
	rc = isol_spec_parse_argv(argc, argv, spec, NULL, err);
	if (rc < 0)
		return rc;
	/* fields that need no words */
	if (reason) {
		if (strlen(reason) > ISOL_REASON_MAX || strpbrk(reason, "\r\n"))
			return isol_err_set(err, -EINVAL,
					    "reason must be one line of at most %d bytes",
					    ISOL_REASON_MAX);
		strcpy(spec->reason, reason);
	}
	if ((rc = get_uint(obj, "ttl_ms", 100ll * 365 * 86400000ll, &n, err)) < 0)
		return isol_err_set(err, -EINVAL,
				    "ttl_ms must be a positive integer (max 100 years)");
	if (rc) {
		if (n == 0)
			return isol_err_set(err, -EINVAL, "ttl_ms must be a positive integer");
		spec->ttl_ms = (uint64_t)n;
	}
	flag = false;
	if (get_flag(obj, "force", &flag, err) < 0)
		return -EINVAL;
	spec->force = flag;
	flag = false;
	if (get_flag(obj, "kill_flows", &flag, err) < 0)
		return -EINVAL;
	if (flag && spec->kind != ISOL_KIND_STEER)
		return isol_err_set(err, -EINVAL, "kill_flows goes with steer");
	spec->kill_flows = flag;
	flag = false;
	if (get_flag(obj, "no_check", &flag, err) < 0)
		return -EINVAL;
	if (flag && spec->kind != ISOL_KIND_STEER)
		return isol_err_set(err, -EINVAL, "no_check goes with steer");
	spec->no_check = flag;
	flag = false;
	if (get_flag(obj, "replace", &flag, err) < 0)
		return -EINVAL;
	if (flag && spec->kind != ISOL_KIND_ROUTE)
		return isol_err_set(err, -EINVAL, "replace goes with route");
	spec->replace = flag;
	return 0;
}
