/* conntrack.h - cutting the established flows of a target (steer --kill-flows).
 * NAT decides on a flow's first packet, so a steer moves only new connections;
 * deleting the conntrack entries of the old target makes the next packet of
 * each open connection a new flow, which the steer's DNAT then sends to the
 * backup (where, being mid-stream, it is answered with a reset). */
#ifndef ISOL_CONNTRACK_H
#define ISOL_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/target.h"

/* One conntrack_kill() runs in the event loop: it stops after this long. */
#define CONNTRACK_KILL_BUDGET_MS 200

/* Room for the dump request conntrack_dump_request() writes. */
#define CONNTRACK_REQ_SIZE 256

/* Delete every conntrack entry (of this network namespace, every zone) whose
 * original-direction destination falls in @t: the address or prefix, the
 * protocol if t->proto != 0, the destination port range if @t has a port;
 * IPv4 or IPv6 per t->family. Call it after the steer is committed: a flow
 * whose entry is deleted before its DNAT exists is picked up again,
 * mid-stream, and goes on to the old target.
 * Returns the number of entries deleted (>= 0; entries that vanished
 * meanwhile are no error and not counted); 0 when conntrack is not loaded
 * (nothing is tracked, nothing needs cutting). Errors, with a message in
 * @err: -EPERM without CAP_NET_ADMIN; -EOPNOTSUPP when conntrack tracks but
 * its netlink interface (nf_conntrack_netlink) is missing; -ETIMEDOUT when
 * the budget ran out first (the message says how many were deleted and how
 * many entries were examined); another -errno when the kernel refused. */
int conntrack_kill(const struct isol_target *t, struct isol_err *err);

/* Pure: does a flow of @family to @daddr (network byte order, 4 or 16 bytes),
 * of layer-4 protocol @proto, to destination port @dport (host byte order; 0
 * for protocols without ports) match @t? A target with a port never matches
 * a protocol without ports. */
bool conntrack_match(const struct isol_target *t, int family, const void *daddr, uint8_t proto,
		     uint16_t dport);

/* Pure: write into @buf (CONNTRACK_REQ_SIZE bytes) the netlink request that
 * dumps the entries of t->family; with @filter, it also asks the kernel
 * (CTA_FILTER, Linux >= 5.8; older kernels ignore it) to send only the
 * entries that match the exact parts of @t: an IPv4 host address, the
 * protocol, a single port. conntrack_match() stays the judge. Returns the
 * message length. */
size_t conntrack_dump_request(void *buf, const struct isol_target *t, uint32_t seq, bool filter);

#endif
