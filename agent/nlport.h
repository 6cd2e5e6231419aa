/* nlport.h - the only place that sends or receives on a netlink socket.
 * One nfnetlink socket for the agent's whole life: with the table's owner
 * flag, the kernel lets only this socket change the table. */
#ifndef ISOL_NLPORT_H
#define ISOL_NLPORT_H

#include <stdint.h>

#include "isol/err.h"
#include "nft.h"

struct nlport;

int nlport_open(struct nlport **pp, struct isol_err *err);
void nlport_close(struct nlport *p);
uint32_t nlport_portid(const struct nlport *p);
/* Sequence numbers for the next batch (monotonic per socket). */
uint32_t nlport_next_seq(struct nlport *p, uint32_t count);

/* Send the whole batch in one sendmsg (the kernel processes it synchronously)
 * and collect errors. A kernel error is matched to its message by sequence
 * number and reported as "<what> (actions A-B): <strerror>". Returns 0 or the
 * first error (-errno). With no END message, the kernel validates and aborts:
 * 0 then means "would succeed". */
int nlport_send_batch(struct nlport *p, const struct nft_batch *b, struct isol_err *err);

/* Dump the elements of one set; @fn gets each element's action id (from its
 * comment) or, @by_key, its u32 key (the mark that keys @hits), and its
 * counter values. */
typedef void (*nlport_elem_fn)(uint64_t id, uint64_t packets, uint64_t bytes, void *data);
int nlport_dump_counters(struct nlport *p, const char *table, const char *set, bool by_key,
			 nlport_elem_fn fn, void *data, struct isol_err *err);

/* How many rules table inet @table holds (-errno; -ENOENT without the table). */
int nlport_count_rules(struct nlport *p, const char *table);

/* Does table inet @table exist, and with which flags? 1 yes, 0 no, -errno. */
int nlport_table_flags(struct nlport *p, const char *table, uint32_t *flags, uint32_t *owner);

#endif
