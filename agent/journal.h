/* journal.h - durable intent: every acknowledged change is on disk (fsync'd)
 * before the reply is sent, so `kill -9` at any moment loses nothing.
 *
 * File: STATE_DIR/journal, newline-delimited JSON records:
 *   {"t":"meta","v":1,"next_id":N}                         first line after compaction
 *   {"t":"add","id":7,"kind":"isolate","target":"10.0.0.5:5672/tcp","direction":"out",
 *    "mode":"reject","force":false,"ttl_ms":30000,"reason":"...","created_ms":..,
 *    "expires_ms":..,"origin":"cli","actor":{"uid":0,"pid":1,"comm":"isolctl"}}
 *   {"t":"del","id":7,"why":"rollback|restore|expired","at_ms":..,"actor":{...}}
 *                                                          a tombstone
 *   {"t":"refused","at_ms":..,"op":"isolate","why":"...","actor":{...}}
 *                                                          audit only, ignored on replay
 * A torn last line (crash mid-write) is ignored on replay; any other bad line
 * is reported with its line number and skipped. */
#ifndef ISOL_JOURNAL_H
#define ISOL_JOURNAL_H

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
 * journals their removal). Returns 0 or -errno with a message. */
int journal_replay(struct journal *j, struct isol_actions *set, struct isol_err *err);

/* Buffer records; nothing is durable until journal_sync(). */
int journal_add(struct journal *j, const struct isol_action *a);
int journal_del(struct journal *j, uint64_t id, const char *why, const struct isol_actor *actor,
		uint64_t at_ms);
int journal_refused(struct journal *j, const char *op, const char *why,
		    const struct isol_actor *actor, uint64_t at_ms);
/* Drop what was buffered since the last sync (the kernel refused the batch). */
void journal_discard(struct journal *j);
/* Write what is buffered and fdatasync. 0 or -errno. */
int journal_sync(struct journal *j);

/* Rewrite the file as meta + one add per live action (tmp, fsync, rename,
 * fsync dir). Called when the file has grown well past the live set. */
int journal_compact(struct journal *j, const struct isol_actions *set, struct isol_err *err);
uint64_t journal_size(const struct journal *j);      /* bytes on disk */
uint64_t journal_records(const struct journal *j);   /* records on disk */

#endif
