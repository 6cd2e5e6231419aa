/* nft.h - the pure encoder for our nftables table: isol state -> netlink
 * messages in a caller-owned growing buffer. No sockets here (nlport.c
 * sends); tests build messages and parse them back with libnftnl.
 *
 * Layout of table `inet isol` (flags owner|persist when asked):
 *   chain out  (filter output  0)   meta mark MARK accept
 *                                   socket cgroupv2 level L CGROUP accept (when
 *                                     the exec probes' cgroup is known)
 *                                   meta nfproto ipv4 goto out_v4
 *                                   meta nfproto ipv6 goto out_v6
 *   chain out_v4                    meta mark set ip daddr . meta l4proto . th dport
 *                                     map @out4 goto rej
 *                                   the same with map @out4r
 *   chain in, fwd (filter input / forward), in_v4 ... fwd_v6: the same (the key
 *                                   is always the packet's daddr . dport: a local
 *                                   service, a routed destination); fwd has no
 *                                   cgroup rule (no local socket there)
 *   chain rej  (regular)            update @hits { meta mark }
 *                                   meta mark & DROP != 0 drop
 *                                   tcp -> reset; else icmpx admin-prohibited
 *   set hits { type mark; flags dynamic; counter }
 * and while at least one steer is (they turn connection tracking on, which
 * every new connection of the host would pay for):
 *   chain nat_out (nat output -100), chain nat_pre (nat prerouting -100):
 *                                   meta mark MARK accept
 *                                   socket cgroupv2 ... accept (nat_out)
 *                                   tcp SYNs and other protocols:
 *                                   dnat ip to ip daddr . meta l4proto . th dport map @steer4
 *                                   dnat ip to ip daddr map @steerh4   (and ip6: steer6, steerh6)
 *   chain steer_out, steer_in, steer_fwd (filter output / input / forward):
 *                                   meta mark MARK accept
 *                                   socket cgroupv2 ... accept (steer_out)
 *                                   ct state new, tcp but not a SYN, to an old
 *                                   target in @steerback4/6: reset; from one: drop
 *     After --kill-flows (or for a flow older than tracking), the caller's
 *     next packet to the old server gets a reset, so it reconnects and its SYN
 *     is steered; a push from the old server is dropped, so it cannot pick the
 *     connection up again in reverse.
 *   maps addr . l4proto . th dport : mark, timeout; "r": interval (prefixes,
 *         port ranges, all protocols). Steer maps: a counter per element.
 * A packet's key is loaded once per family chain and looked up in the exact
 * (hash) map, then the interval map. A hit sets the packet's mark to the
 * isolation's (nft_isolation_mark: id, and a bit for mode drop) and goes to
 * rej, which counts it in @hits and drops or rejects it; the packet dies
 * there, mark and all. A miss ends the rule. No element holds a jump or
 * goto: that would make the kernel walk every element of the table at each
 * commit (one isolation would cost O(isolations)). No isolation element has
 * a counter: the kernel makes two per-CPU allocations for each (most of a
 * large apply's time, and 16 B x CPUs of memory each); @hits holds counters
 * for the isolations that were hit, made by their first packet. Every
 * element carries the comment "isol:ID" (steer counters map back by it).
 * Probe exemption: tcp, http and icmp probe sockets carry the mark; an exec
 * probe runs a command whose sockets do not, so it runs in a cgroup v2 of
 * its own (cgroup.c) and the rule after the mark rule accepts the packets of
 * that cgroup's sockets, in the hook chains where a local socket is: output
 * (out, nat_out, steer_out) and input (in: the replies, which an isolation
 * of this host's own address would reject). steer_in needs none: its rule
 * hits only ct state new, which a reply never is. */
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

/* A set index: (dir * 2 + v6) * 2 + range, dir 0 out, 1 in, 2 fwd, for
 * isolations; then the four steering maps and the two steerback sets. */
enum isol_map {
	ISOL_MAP_FIRST = 0,
	ISOL_MAP_STEER4 = 12, /* addr . l4proto . th dport : addr . port */
	ISOL_MAP_STEER6,
	ISOL_MAP_STEERH4, /* addr : addr (a whole host) */
	ISOL_MAP_STEERH6,
	ISOL_MAP_STEERBACK4, /* addr . proto . port of steered tcp targets */
	ISOL_MAP_STEERBACK6,
	ISOL_SET_HITS, /* mark of an isolation that was hit: its counter */
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
	const char *table;     /* ISOL_TABLE_NAME unless a test chooses another */
	uint32_t mark;         /* probe exemption mark */
	bool owner, persist;   /* table flags */
	uint64_t cgroup_id;    /* exec probes' cgroup v2 (exempt too); 0: none */
	uint32_t cgroup_level; /* its depth below the cgroup2 root ("/" is 0) */
};

void nft_table_opts_init(struct nft_table_opts *o);

/* Start a batch (BEGIN message) with sequence numbers from @seq. */
int nft_batch_init(struct nft_batch *b, uint32_t seq);
void nft_batch_fini(struct nft_batch *b);
/* Append END: without it the kernel validates and commits nothing (dry run). */
int nft_batch_end(struct nft_batch *b);
const struct nft_msg_info *nft_batch_find_seq(const struct nft_batch *b, uint32_t seq);

/* Destroy (if present) and recreate the whole table with its skeleton, and
 * with the steering chains when @steering. */
int nft_encode_rebuild(struct nft_batch *b, const struct nft_table_opts *o, bool steering);
/* Add (@on) or remove the steering chains: nat_out, nat_pre, steer_out,
 * steer_in, steer_fwd. They turn connection tracking on, so they are there
 * only while at least one steer is. */
int nft_encode_steering(struct nft_batch *b, const struct nft_table_opts *o, bool on);
/* Elements of @n actions added (@add) or removed. Elements of actions whose
 * TTL ran out by @now_ms are skipped on add. Removal uses "destroy", which
 * does not fail for an element the kernel already expired. */
int nft_encode_actions(struct nft_batch *b, const struct nft_table_opts *o,
		       struct isol_action *const *actions, size_t n, bool add, uint64_t now_ms);
/* Rules the skeleton of @o holds: a table with fewer was flushed by someone.
 * rej 4; per hook chain: mark (input: and socket mark) + 2 family gotos; per
 * family chain: exact and interval lookups: 26, and 2 more (out, in) with a
 * cgroup. */
size_t nft_skeleton_rules(const struct nft_table_opts *o);
/* ... and the steering chains' (nat: mark + 4 maps x tcp/other; steer_out and
 * steer_in: mark + v4, v6; steer_fwd: mark + v4, v6 x both ways): 29, and 2
 * more (nat_out, steer_out) with a cgroup. */
size_t nft_steering_rules(const struct nft_table_opts *o);

/* Destroy the counters in @hits of @n marks that no live isolation has
 * (left by a packet that came while the isolation's removal was being
 * committed). */
int nft_encode_hits_forget(struct nft_batch *b, const struct nft_table_opts *o,
			   const uint32_t *marks, size_t n);

/* Remove the table (isolagent --flush). */
int nft_encode_destroy_table(struct nft_batch *b, const struct nft_table_opts *o);

/* Which set holds @spec's elements for direction bit @dir. */
enum isol_map nft_map_for(const struct isol_spec *spec, unsigned dir);

/* nft syntax of one action's changes, one line each, for --dry-run and logs.
 * Calls @fn for each line. */
void nft_describe_action(const struct nft_table_opts *o, const struct isol_action *a, bool add,
			 uint64_t now_ms, void (*fn)(const char *line, void *data), void *data);

/* The value an isolation's elements map to, which its packets carry as
 * their mark on the way to `rej`: the id's low 31 bits, and the high bit
 * for mode drop. It keys the isolation's counter in @hits. */
#define ISOL_MARK_DROP 0x80000000u
uint32_t nft_isolation_mark(const struct isol_action *a);

/* Element comment "isol:ID" <-> id. */
int nft_elem_comment(uint64_t id, char *buf, size_t len);
uint64_t nft_elem_comment_id(const void *udata, uint32_t len);

#endif
