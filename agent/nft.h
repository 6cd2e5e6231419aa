/* nft.h - the pure encoder for our nftables table: isol state -> netlink
 * messages in a caller-owned growing buffer. No sockets here (nlport.c
 * sends); tests build messages and parse them back with libnftnl.
 *
 * Layout of table `inet isol` (flags owner|persist when asked):
 *   chain out  (filter output  0)   mark accept; then for m in out4 out4r out6 out6r:
 *                                   DADDR . l4proto . th dport map @m vmap @verdict
 *   chain in   (filter input   0)   same with in*
 *   chain fwd  (filter forward 0)   same with fwd*
 *   chain rej  (regular)            tcp -> reset; else icmpx admin-prohibited
 *   map verdict  mark : verdict     { 1 : goto rej, 2 : drop }   (constant)
 *   maps NAME  addr . l4proto . th dport : mark (1 reject, 2 drop)  timeout, counter
 *        NAMEr same with interval (prefixes, port ranges, all protocols)
 * The big maps hold numbers, not verdicts: an element with a goto would make
 * the kernel walk every element of the table on every commit.
 * Every element carries the comment "isol:ID" so counters map back to actions. */
#ifndef ISOL_NFT_H
#define ISOL_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actions.h"

#define ISOL_TABLE_NAME "isol"
#define ISOL_DEFAULT_MARK 0x69736f6cu /* "isol": probes carry it, rules accept it */
/* Element lists are split into messages well below the 64 KiB netlink
 * attribute limit; each element is < 128 bytes encoded. */
#define ISOL_ELEMS_PER_MSG 256

enum isol_map {
	ISOL_MAP_OUT4,
	ISOL_MAP_OUT4R,
	ISOL_MAP_OUT6,
	ISOL_MAP_OUT6R,
	ISOL_MAP_IN4,
	ISOL_MAP_IN4R,
	ISOL_MAP_IN6,
	ISOL_MAP_IN6R,
	ISOL_MAP_FWD4,
	ISOL_MAP_FWD4R,
	ISOL_MAP_FWD6,
	ISOL_MAP_FWD6R,
	__ISOL_MAP_MAX
};

const char *nft_map_name(enum isol_map map);

/* One netlink message of the batch, for matching kernel errors by seq. */
struct nft_msg_info {
	uint32_t seq;
	uint64_t first_id, last_id; /* actions in this message, 0 for skeleton */
	char what[40];              /* "add elements to out4", "create table" */
};

struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq;        /* next sequence number */
	struct nft_msg_info *msgs;
	size_t nmsgs, msgs_cap;
	int error;           /* sticky -ENOMEM from building */
	bool ended;          /* END appended: kernel will commit */
};

struct nft_table_opts {
	const char *table;   /* ISOL_TABLE_NAME unless a test chooses another */
	uint32_t mark;       /* probe exemption mark */
	bool owner, persist; /* table flags */
};

void nft_table_opts_init(struct nft_table_opts *o);

/* Start a batch (BEGIN message) with sequence numbers from @seq. */
int nft_batch_init(struct nft_batch *b, uint32_t seq);
void nft_batch_fini(struct nft_batch *b);
/* Append END: without it the kernel validates and commits nothing (dry run). */
int nft_batch_end(struct nft_batch *b);
const struct nft_msg_info *nft_batch_find_seq(const struct nft_batch *b, uint32_t seq);

/* Destroy (if present) and recreate the whole table with its skeleton. */
int nft_encode_rebuild(struct nft_batch *b, const struct nft_table_opts *o);
/* Elements of @n actions added (@add) or removed. Elements of actions whose
 * TTL ran out by @now_ms are skipped on add. Removal uses "destroy", which
 * does not fail for an element the kernel already expired. */
int nft_encode_actions(struct nft_batch *b, const struct nft_table_opts *o,
		       struct isol_action *const *actions, size_t n, bool add, uint64_t now_ms);
/* Remove the table (isolagent --flush). */
int nft_encode_destroy_table(struct nft_batch *b, const struct nft_table_opts *o);

/* Which map holds @spec's elements for direction bit @dir. */
enum isol_map nft_map_for(const struct isol_spec *spec, unsigned dir);

/* nft syntax of one action's changes, one line each, for --dry-run and logs.
 * Calls @fn for each line. */
void nft_describe_action(const struct nft_table_opts *o, const struct isol_action *a, bool add,
			 uint64_t now_ms, void (*fn)(const char *line, void *data), void *data);

/* Element comment "isol:ID" <-> id. */
int nft_elem_comment(uint64_t id, char *buf, size_t len);
uint64_t nft_elem_comment_id(const void *udata, uint32_t len);

#endif
