/* protect.h - targets isol refuses to touch without --force: loopback, the
 * default gateway(s), the SSH client of the person typing, configured extras.
 * Checked in every path that creates an action, automatic ones included. */
#ifndef ISOL_PROTECT_H
#define ISOL_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/target.h"

struct protect_entry {
	int family;
	uint8_t addr[16];
	unsigned plen;
	char label[64]; /* "loopback", "default gateway", "--protect 10.0.0.0/8" */
	int dynamic;    /* re-read (gateways) */
};

struct protect {
	struct protect_entry *v;
	size_t n, cap;
	uint64_t refreshed_ms; /* gateways last read */
};

void protect_init(struct protect *p); /* loopback v4 and v6 */
void protect_fini(struct protect *p);
/* Add "ADDR" or "ADDR/LEN". -EINVAL with a message on bad input. */
int protect_add(struct protect *p, const char *spec, const char *label, struct isol_err *err);
/* Re-read the default gateways (rtnetlink, through libnl-route) when older
 * than a second. Failures keep the previous list. */
void protect_refresh(struct protect *p, uint64_t now_ms);
/* The label of the first protected entry @t overlaps, or NULL. @ssh_peer
 * (may be NULL) is the address of the requester's SSH client. @why gets a
 * sentence for the user. */
const char *protect_match(const struct protect *p, const struct isol_target *t,
			  const char *ssh_peer, char *why, size_t len);

#endif
