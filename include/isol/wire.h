/* wire.h - the control protocol between isolctl and isolagent.
 *
 * Newline-delimited JSON over a unix stream socket, one request per line and
 * one response line per request, in order:
 *   -> {"v":1,"op":"isolate","target":"10.0.0.5:5672","ttl_ms":30000,...}
 *   <- {"ok":true,...}  or  {"ok":false,"error":{"code":"...","message":"..."}}
 * The full list of ops and fields is in docs/PROTOCOL.md. */
#ifndef ISOL_WIRE_H
#define ISOL_WIRE_H

#include <jansson.h>

#include "isol/err.h"
#include "isol/spec.h"

#define ISOL_WIRE_VERSION 1
#define ISOL_DEFAULT_SOCKET "/run/isol/isolagent.sock"
#define ISOL_SOCKET_ENV "ISOL_SOCKET"
/* A request line may not exceed this (an apply of 100,000 actions is ~5 MiB). */
#define ISOL_WIRE_MAX_LINE (64u << 20)

/* Error codes on the wire; isolctl maps them to exit codes. */
#define ISOL_E_INVALID "invalid"     /* malformed or bad request: exit 2 */
#define ISOL_E_DENIED "denied"       /* peer not allowed: exit 1 */
#define ISOL_E_PROTECTED "protected" /* target is protected, --force to override */
#define ISOL_E_NOT_FOUND "not_found"
#define ISOL_E_EXISTS "exists"
#define ISOL_E_KERNEL "kernel"
#define ISOL_E_INTERNAL "internal"
#define ISOL_E_BUSY "busy"

/* Spec <-> JSON fields: kind, target, direction, mode, ttl_ms, reason, force. */
json_t *isol_spec_to_json(const struct isol_spec *spec);
int isol_spec_from_json(const json_t *obj, struct isol_spec *spec, struct isol_err *err);

/* Resolve the socket path: @opt if set, else $ISOL_SOCKET, else the default. */
const char *isol_socket_path(const char *opt);

#endif
