/* journal.h - durable intent: every acknowledged change is on disk (fsync'd)
 * before the reply is sent, so `kill -9` at any moment loses nothing.
 *
 * File: STATE_DIR/journal, newline-delimited JSON records:
 *   {"t":"meta","v":1,"next_id":N}                         first line after compaction
 *   {"t":"add","id":7,"kind":"isolate","target":"10.0.0.5:5672/tcp","direction":"out",
 *    "mode":"reject","force":false,"ttl_ms":30000,"reason":"...","created_ms":..,
 *    "expires_ms":..,"origin":"cli","actor":{"uid":0,"pid":1,"comm":"isolctl"}}
 *   {"t":"add+","target":"10.0.0.6:5672/tcp"}               the isolation of the
 *                                                          record before, with the
 *                                                          next id and this target
 *                                                          (a large apply: ~45 bytes
 *                                                          an action, not ~260)
 *   {"t":"del","id":7,"why":"rollback|restore|expired","at_ms":..,"actor":{...}}
 *                                                          a tombstone
 *   {"t":"refused","at_ms":..,"op":"isolate","why":"...","actor":{...}}
 *                                                          audit only, ignored on replay
 * A torn last line (crash mid-write) is ignored on replay; any other bad line
 * is reported with its line number and skipped. */
#ifndef ISOL_JOURNAL_H
#define ISOL_JOURNAL_H

#include <jansson.h>
#include <stdint.h>

#include "actions.h"
#include "isol/err.h"

struct journal;

/* Open (creating) DIR/journal and take an exclusive lock on DIR/lock, so two
 * agents never share a state dir (-EBUSY with a message if one runs). */
int journal_open(struct journal **jp, const char *dir, struct isol_err *err);
void journal_close(struct journal *j);

/* Rebuild @set from the file: adds, minus tombstones; next_id restored so ids
 * are never reused. Expired actions are kept (the caller decides, and
 * journals their removal). Returns 0 or -errno with a message. Bad lines
 * do not stop the replay: they are skipped, @err holds the first one
 * ("DIR/journal:LINE: ..."), and the return value is how many (> 0). */
int journal_replay(struct journal *j, struct isol_actions *set, struct isol_err *err);

/* Buffer records; nothing is durable until journal_sync(). */
int journal_add(struct journal *j, const struct isol_action *a);
int journal_del(struct journal *j, uint64_t id, const char *why, const struct isol_actor *actor,
		uint64_t at_ms);
/* A new expiry for a live action (TTL renewal): {"t":"renew","id":7,"expires_ms":..}. */
int journal_renew(struct journal *j, uint64_t id, uint64_t expires_ms);
/* The health state of one watched target (level, hold, decision state), so
 * a restart or a crash loop keeps it: {"t":"health","key":"POLICY TARGET",
 * "s":{...}}. The latest record of each key wins; replay keeps them for
 * journal_health() and compaction writes them again. Takes a reference
 * to nothing: @state is copied. */
int journal_health(struct journal *j, const char *key, const json_t *state);
/* After replay: an object mapping each key to its latest state (borrowed;
 * valid until the journal is closed). */
const json_t *journal_health_states(const struct journal *j);
int journal_refused(struct journal *j, const char *op, const char *why,
		    const struct isol_actor *actor, uint64_t at_ms);
/* Drop what was buffered since the last sync (the kernel refused the batch). */
void journal_discard(struct journal *j);
/* A large transaction, written and synced ahead of its commit (a second
 * thread does it while the kernel applies the batch): what is buffered goes
 * to the file and to the disk, still uncommitted, so replay ignores it until
 * journal_sync() adds the commit and has little left to write. Only for a
 * transaction (two records or more; 0 and nothing done otherwise).
 * journal_discard() takes it back. */
int journal_write_ahead(struct journal *j);
/* Write what is buffered and fdatasync. 0 or -errno; on failure the file is
 * cut back to its last synced size and the records stay buffered (retry the
 * sync, or journal_discard()). */
int journal_sync(struct journal *j);

/* Rewrite the file as meta + one add per live action (tmp, fsync, rename,
 * fsync dir). Called when the file has grown well past the live set, with
 * nothing buffered (-EBUSY otherwise). Refusal records are not kept. */
int journal_compact(struct journal *j, const struct isol_actions *set, struct isol_err *err);
uint64_t journal_size(const struct journal *j);      /* bytes on disk */
uint64_t journal_records(const struct journal *j);   /* records on disk (counted by replay) */
/* One journal line -> a JSON object: what json_loadb() returns, but fast for
 * the flat records journal_add() writes. NULL with @error (may be NULL) set
 * when the line is not JSON. */
json_t *journal_record_parse(const char *line, size_t len, json_error_t *error);
/* Bytes of a torn last record (crash mid-write) cut away by journal_open(). */
uint64_t journal_torn_bytes(const struct journal *j);

#endif
