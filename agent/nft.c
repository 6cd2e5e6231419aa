/* nft.c - pure encoder for the `inet isol` table: skeleton and elements as
 * libnftnl objects, serialized into one batch buffer. No socket I/O here. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "isol/duration.h"
#include "kcompat.h"
#include "nft.h"

/* Headroom reserved before building one message: libnftnl builders do not
 * bound-check, so no message may ever exceed this. */
#define MSG_ROOM (96u << 10)

static const char *const map_names[__ISOL_MAP_MAX] = {
	"out4", "out4r", "out6", "out6r", "in4", "in4r", "in6", "in6r",
	"fwd4", "fwd4r", "fwd6", "fwd6r",
	"steer4", "steer6", "steerh4", "steerh6", "steerback4", "steerback6", "hits",
};

/* The steering chains, there only while a steer is: a nat chain or a ct
 * expression turns connection tracking on in the network namespace, which
 * costs every new connection of the host (about a fifth of the connection
 * rate here) and fills a table that can overflow. DNAT of new connections of
 * this host (nat output) and routed ones (nat prerouting), before filter sees
 * them; and the steerback rules (rule_add_steerback). */
static const struct {
	const char *name;
	unsigned hook;
	const char *type;
	int prio;
	bool to_target, from_target; /* steerback rules */
	bool by_cgroup;		     /* exempts exec probes' sockets (emit_exemptions) */
} steer_chains[] = {
	{ "nat_out", NF_INET_LOCAL_OUT, "nat", -100, false, false, true },
	{ "nat_pre", NF_INET_PRE_ROUTING, "nat", -100, false, false, false },
	{ "steer_out", NF_INET_LOCAL_OUT, "filter", 0, true, false, true },
	/* a reply to a probe connection is never ct state new: the steerback
	 * rule here cannot hit it */
	{ "steer_in", NF_INET_LOCAL_IN, "filter", 0, false, true, false },
	{ "steer_fwd", NF_INET_FORWARD, "filter", 0, true, true, false },
};
#define NSTEER_CHAINS (sizeof(steer_chains) / sizeof(steer_chains[0]))

/* the hook chains, each with a regular chain per family ("out_v4") where
 * the packet's key is loaded */
static const struct {
	const char *name;
	const char *fam[2];
	unsigned dir;
	unsigned hook;
	enum isol_map first_map;
	bool by_cgroup; /* exempts exec probes' sockets (emit_exemptions) */
} chains[] = {
	{ "out", { "out_v4", "out_v6" }, ISOL_DIR_OUT, NF_INET_LOCAL_OUT, 0, true },
	/* the replies to a probe: an isolation of this host's own address
	 * (--direction in, or a prefix holding it) would reject them */
	{ "in", { "in_v4", "in_v6" }, ISOL_DIR_IN, NF_INET_LOCAL_IN, 4, true },
	{ "fwd", { "fwd_v4", "fwd_v6" }, ISOL_DIR_FWD, NF_INET_FORWARD, 8, false },
};
#define NCHAINS (sizeof(chains) / sizeof(chains[0]))
#define REJECT_CHAIN "rej"

const char *nft_map_name(enum isol_map map)
{
	return (unsigned)map < __ISOL_MAP_MAX ? map_names[map] : "?";
}

void nft_table_opts_init(struct nft_table_opts *o)
{
	o->table = ISOL_TABLE_NAME;
	o->mark = ISOL_DEFAULT_MARK;
	o->owner = true;
	o->persist = true;
	o->cgroup_id = 0;
	o->cgroup_level = 0;
}

static bool exempts_cgroup(const struct nft_table_opts *o, bool by_cgroup)
{
	return by_cgroup && o->cgroup_id != 0;
}

size_t nft_skeleton_rules(const struct nft_table_opts *o)
{
	size_t i, n = 4; /* rej */

	/* a hook chain: the exemptions (input: the replies' socket mark too),
	 * a goto per family; a family chain: the exact and the interval lookup */
	for (i = 0; i < NCHAINS; i++)
		n += 1 + (chains[i].hook == NF_INET_LOCAL_IN) +
		     exempts_cgroup(o, chains[i].by_cgroup) + 2 + 2 * 2;
	return n;
}

size_t nft_steering_rules(const struct nft_table_opts *o)
{
	size_t i, n = 0;

	for (i = 0; i < NSTEER_CHAINS; i++) {
		n += 1 + exempts_cgroup(o, steer_chains[i].by_cgroup);
		if (strcmp(steer_chains[i].type, "nat") == 0)
			n += 4 * 2; /* 4 maps x (tcp SYN, other) */
		else
			n += 2 * (steer_chains[i].to_target + steer_chains[i].from_target);
	}
	return n;
}

/* --- the batch buffer ---------------------------------------------------- */

static int batch_reserve(struct nft_batch *b, size_t room)
{
	char *nbuf;
	size_t ncap;

	if (b->error)
		return b->error;
	if (b->len + room <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : (256u << 10);
	while (ncap < b->len + room)
		ncap *= 2;
	nbuf = realloc(b->buf, ncap);
	if (nbuf == NULL)
		return b->error = -ENOMEM;
	b->buf = nbuf;
	b->cap = ncap;
	return 0;
}

/* Start a message at the end of the buffer; the caller fills it and calls
 * msg_done(). Returns NULL (and a sticky error) on ENOMEM. */
static struct nlmsghdr *msg_start(struct nft_batch *b, uint16_t type, uint16_t flags,
				  const char *what, uint64_t first_id, uint64_t last_id)
{
	struct nft_msg_info *mi;

	if (batch_reserve(b, MSG_ROOM) < 0)
		return NULL;
	if (b->nmsgs == b->msgs_cap) {
		size_t ncap = b->msgs_cap ? b->msgs_cap * 2 : 64;
		struct nft_msg_info *n = realloc(b->msgs, ncap * sizeof(*n));

		if (n == NULL) {
			b->error = -ENOMEM;
			return NULL;
		}
		b->msgs = n;
		b->msgs_cap = ncap;
	}
	mi = &b->msgs[b->nmsgs++];
	mi->seq = b->seq;
	mi->first_id = first_id;
	mi->last_id = last_id;
	snprintf(mi->what, sizeof(mi->what), "%s", what);
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET, flags, b->seq++);
}

static void msg_done(struct nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

int nft_batch_init(struct nft_batch *b, uint32_t seq)
{
	memset(b, 0, sizeof(*b));
	b->seq = seq;
	if (batch_reserve(b, MSG_ROOM) < 0)
		return -ENOMEM;
	nftnl_batch_begin(b->buf, b->seq++);
	b->len += NLMSG_ALIGN(((struct nlmsghdr *)b->buf)->nlmsg_len);
	return 0;
}

void nft_batch_fini(struct nft_batch *b)
{
	free(b->buf);
	free(b->msgs);
	memset(b, 0, sizeof(*b));
}

int nft_batch_end(struct nft_batch *b)
{
	struct nlmsghdr *nlh;

	if (batch_reserve(b, MSG_ROOM) < 0)
		return b->error;
	nlh = nftnl_batch_end(b->buf + b->len, b->seq++);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->ended = true;
	return 0;
}

const struct nft_msg_info *nft_batch_find_seq(const struct nft_batch *b, uint32_t seq)
{
	size_t lo = 0, hi = b->nmsgs;

	/* seqs increase with the index: binary search */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b->msgs[mid].seq == seq)
			return &b->msgs[mid];
		if (b->msgs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- skeleton -------------------------------------------------------------- */

static int add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e == NULL)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *expr_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *expr_cmp_eq(uint32_t sreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *expr_bitwise_and(uint32_t reg, uint32_t mask, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint32_t zero = 0;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, len);
	}
	return e;
}

static struct nftnl_expr *expr_cmp(uint32_t op, uint32_t sreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_cmp_eq(sreg, data, len);

	if (e)
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	return e;
}

static struct nftnl_expr *expr_payload(uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *expr_verdict(int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return e;
}

static struct nftnl_expr *expr_goto(const char *chain)
{
	struct nftnl_expr *e = expr_verdict(NFT_GOTO);

	if (e)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return e;
}

static struct nftnl_expr *expr_reject(uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	}
	return e;
}

/* update @set { sreg }: add the key if absent (with the set's counter),
 * then run the element's expressions (count the packet) */
static struct nftnl_expr *expr_dynset_update(uint32_t sreg, enum isol_map m)
{
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
		nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, map_names[m]);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, (uint32_t)m + 1);
	}
	return e;
}

/* A property of the packet's local socket: its mark, or its cgroup v2 id
 * (that of its ancestor at @level) */
static struct nftnl_expr *expr_socket(uint32_t key, uint32_t level, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("socket");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, dreg);
		if (key == NFT_SOCKET_CGROUPV2)
			nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, level);
	}
	return e;
}

static bool map_is_v6(enum isol_map m)
{
	return (m / 2) % 2 == 1;
}

static bool map_is_range(enum isol_map m)
{
	return m % 2 == 1;
}

static struct nftnl_rule *rule_new(const struct nft_table_opts *o, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r) {
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, o->table);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	}
	return r;
}

/* A comment nft shows at the end of the rule (udata TLV, as nft writes it). */
static void rule_comment(struct nftnl_rule *r, const char *text)
{
	uint8_t udata[2 + 64];
	size_t n = strlen(text) + 1;

	if (n > sizeof(udata) - 2)
		n = sizeof(udata) - 2;
	udata[0] = ISOL_UDATA_RULE_COMMENT;
	udata[1] = (uint8_t)n;
	memcpy(udata + 2, text, n);
	udata[n + 1] = '\0';
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, udata, (uint32_t)n + 2);
}

/* meta mark set DADDR . meta l4proto . th dport map @map  goto rej
 * In a family chain, so no nfproto test. A hit marks the packet with the
 * isolation's mark (nft_isolation_mark) for `rej`, which counts it and
 * drops or rejects it; a miss ends the rule. The packet dies in `rej`, so
 * its mark goes nowhere. */
static int rule_add_lookup(struct nftnl_rule *r, enum isol_map m, uint32_t set_id)
{
	bool v6 = map_is_v6(m);
	uint32_t areg = NFT_REG32_00, preg = v6 ? NFT_REG32_00 + 4 : NFT_REG32_00 + 1;
	struct nftnl_expr *e;

	if (add_expr(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4,
				     areg)) < 0 ||
	    add_expr(r, expr_meta(NFT_META_L4PROTO, preg)) < 0 ||
	    add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, preg + 1)) < 0)
		return -ENOMEM;
	e = nftnl_expr_alloc("lookup");
	if (e == NULL)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, areg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, map_names[m]);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("meta");
	if (e == NULL)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	/* nft prints a raw @nh for an address with no family test in the
	 * rule: say what it is */
	rule_comment(r, v6 ? "ip6 daddr . meta l4proto . th dport" : "ip daddr . meta l4proto . th dport");
	return add_expr(r, expr_goto(REJECT_CHAIN));
}

static int emit_rule(struct nft_batch *b, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh;

	nlh = msg_start(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "add rule", 0, 0);
	if (nlh == NULL) {
		nftnl_rule_free(r);
		return b->error;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	msg_done(b, nlh);
	return 0;
}

/* The first rules of a hook chain, so that probes see the real component:
 *   meta mark MARK accept                        tcp, http, icmp probe sockets
 *   socket mark MARK accept                      on input: the replies to them
 *                                                (an isolation of this host's
 *                                                own address, --direction in)
 *   socket cgroupv2 level L == ID accept         exec probe commands, when the
 *                                                cgroup is known and @by_cgroup
 * On output the packet carries its socket; on input the kernel looks it up
 * (tcp, udp). Forward has no local socket and the kernel refuses the socket
 * expression there. The level makes a cgroup below ours count too. */
static int emit_exemptions(struct nft_batch *b, const struct nft_table_opts *o,
			   const char *chain, bool by_cgroup, bool inbound)
{
	uint64_t id = o->cgroup_id;
	uint32_t mark = o->mark;
	struct nftnl_rule *r;

	r = rule_new(o, chain);
	if (r == NULL)
		return b->error = -ENOMEM;
	if (add_expr(r, expr_meta(NFT_META_MARK, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_cmp_eq(NFT_REG_1, &mark, 4)) < 0 ||
	    add_expr(r, expr_verdict(NF_ACCEPT)) < 0)
		goto nomem;
	if (emit_rule(b, r) < 0)
		return b->error;
	if (inbound) {
		r = rule_new(o, chain);
		if (r == NULL)
			return b->error = -ENOMEM;
		if (add_expr(r, expr_socket(NFT_SOCKET_MARK, 0, NFT_REG_1)) < 0 ||
		    add_expr(r, expr_cmp_eq(NFT_REG_1, &mark, 4)) < 0 ||
		    add_expr(r, expr_verdict(NF_ACCEPT)) < 0)
			goto nomem;
		if (emit_rule(b, r) < 0)
			return b->error;
	}
	if (!exempts_cgroup(o, by_cgroup))
		return b->error;
	r = rule_new(o, chain);
	if (r == NULL)
		return b->error = -ENOMEM;
	/* the id in host byte order, 8 bytes: what the kernel loads */
	if (add_expr(r, expr_socket(NFT_SOCKET_CGROUPV2, o->cgroup_level, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_cmp_eq(NFT_REG_1, &id, sizeof(id))) < 0 ||
	    add_expr(r, expr_verdict(NF_ACCEPT)) < 0)
		goto nomem;
	/* nft names the cgroup by a path below /sys/fs/cgroup, which a hybrid
	 * (v1 + v2) host does not have: say what it is */
	rule_comment(r, "isol exec probes");
	return emit_rule(b, r);

nomem:
	nftnl_rule_free(r);
	return b->error = -ENOMEM;
}

/* A set of our table, with a counter for every element when @counted (the
 * hits of `isolctl list`); NULL on ENOMEM. */
static struct nftnl_set *set_new(const struct nft_table_opts *o, enum isol_map m, bool counted)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_expr *ctr = counted ? nftnl_expr_alloc("counter") : NULL;

	if (s == NULL || (counted && ctr == NULL)) {
		nftnl_set_free(s);
		nftnl_expr_free(ctr);
		return NULL;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, o->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, map_names[m]);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)m + 1);
	if (ctr)
		nftnl_set_add_expr(s, ctr);
	return s;
}

static void set_concat_key(struct nftnl_set *s, bool v6);

/* The byte order of a set's key and data, for `nft list` (a mark is host
 * endian; nft reads big endian unless told). As nft writes it: udata TLVs,
 * nftables' enum byteorder (0 invalid: the type's own, 1 host, 2 big). */
static void set_byteorder(struct nftnl_set *s, uint32_t key, uint32_t data)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);

	if (u == NULL)
		return; /* only nft's printing would suffer */
	if (nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, key) &&
	    (data == 0 || nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, data)))
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
				   nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}
static int emit_set(struct nft_batch *b, struct nftnl_set *s, const char *what);

/* Keys only, no counter: the old targets of tcp steers. */
static int emit_steerback_set(struct nft_batch *b, const struct nft_table_opts *o,
			      enum isol_map m)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s == NULL)
		return b->error = -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, o->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, map_names[m]);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)m + 1);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_CONCAT);
	set_concat_key(s, m == ISOL_MAP_STEERBACK6);
	return emit_set(b, s, "create set");
}

/* ADDR . inet_proto . inet_service as a key, for nft to print */
static void set_concat_key(struct nftnl_set *s, bool v6)
{
	static const uint8_t fields4[] = { 4, 1, 2, 0 }, fields6[] = { 16, 1, 2, 0 };
	uint32_t addr_type = v6 ? ISOL_TYPE_IP6ADDR : ISOL_TYPE_IPADDR;

	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  (addr_type << (2 * ISOL_TYPE_BITS)) |
				  (ISOL_TYPE_INET_PROTOCOL << ISOL_TYPE_BITS) |
				  ISOL_TYPE_INET_SERVICE);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 24 : 12);
	nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, v6 ? fields6 : fields4, 3);
}

/* Append NEWSET for @s and free it. */
static int emit_set(struct nft_batch *b, struct nftnl_set *s, const char *what)
{
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, what, 0, 0);

	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		msg_done(b, nlh);
	}
	nftnl_set_free(s);
	return b->error;
}

/* map outN { type ADDR . inet_proto . inet_service : mark }, timeout; the
 * "r" maps are interval maps. No counter per element: a per-CPU counter is
 * two per-CPU allocations in the kernel per element (most of the time of a
 * large apply, and 16 B x CPUs of memory each); an isolation's counter is
 * made in @hits when its first packet comes. */
static int emit_map(struct nft_batch *b, const struct nft_table_opts *o, enum isol_map m)
{
	uint32_t flags = NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_CONCAT;
	struct nftnl_set *s = set_new(o, m, false);

	if (s == NULL)
		return b->error = -ENOMEM;
	if (map_is_range(m))
		flags |= NFT_SET_INTERVAL;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	set_concat_key(s, map_is_v6(m));
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, ISOL_TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4);
	set_byteorder(s, 0, 1);
	return emit_set(b, s, "create map");
}

/* set hits { type mark; flags dynamic; counter }: `rej` adds the mark of
 * each isolation that stops a packet, with a counter (then counts it). The
 * kernel caps a set a rule adds to at 65535 elements unless told: past that
 * many isolations hit, the next ones are still rejected, just not counted. */
static int emit_hits_set(struct nft_batch *b, const struct nft_table_opts *o)
{
	struct nftnl_set *s = set_new(o, ISOL_SET_HITS, true);

	if (s == NULL)
		return b->error = -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_EVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ISOL_TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	set_byteorder(s, 1, 0);
	return emit_set(b, s, "create set");
}

static int emit_chain_typed(struct nft_batch *b, const struct nft_table_opts *o,
			    const char *name, int hook, const char *type, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (c == NULL)
		return b->error = -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, o->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	}
	nlh = msg_start(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, "create chain", 0, 0);
	if (nlh == NULL) {
		nftnl_chain_free(c);
		return b->error;
	}
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	msg_done(b, nlh);
	return 0;
}

static int emit_chain(struct nft_batch *b, const struct nft_table_opts *o, const char *name,
		      int hook)
{
	return emit_chain_typed(b, o, name, hook, "filter", 0);
}

static bool steer_v6(enum isol_map m)
{
	return m == ISOL_MAP_STEER6 || m == ISOL_MAP_STEERH6;
}

static bool steer_host(enum isol_map m)
{
	return m == ISOL_MAP_STEERH4 || m == ISOL_MAP_STEERH6;
}

/* map steerN { type ADDR . inet_proto . inet_service : ADDR . inet_service }
 * map steerhN { type ADDR : ADDR }, timeout, a counter per element */
static int emit_steer_map(struct nft_batch *b, const struct nft_table_opts *o, enum isol_map m)
{
	bool v6 = steer_v6(m);
	uint32_t addr_type = v6 ? ISOL_TYPE_IP6ADDR : ISOL_TYPE_IPADDR, alen = v6 ? 16 : 4;
	struct nftnl_set *s = set_new(o, m, true);

	if (s == NULL)
		return b->error = -ENOMEM;
	if (steer_host(m)) {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_TIMEOUT);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, addr_type);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, alen);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, addr_type);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, alen);
	} else {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_CONCAT);
		set_concat_key(s, v6);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE,
				  (addr_type << ISOL_TYPE_BITS) | ISOL_TYPE_INET_SERVICE);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, alen + 4);
	}
	return emit_set(b, s, "create map");
}

/* meta nfproto ipvX  meta l4proto tcp  tcp flags & (syn|ack) == syn  (@tcp)
 *                 | meta l4proto != tcp                              (!@tcp)
 * DADDR (. l4proto . th dport) map @steer -> dnat to addr (. port)
 * A tcp flow that starts with anything but a SYN began before tracking did
 * (or its flow was cut): it stays where it was rather than land mid-stream
 * on a server that knows nothing of it. */
static int rule_add_dnat(struct nftnl_rule *r, enum isol_map m, bool tcp)
{
	bool v6 = steer_v6(m), host = steer_host(m);
	uint8_t nfproto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, tcpn = IPPROTO_TCP, syn = 0x02;
	uint32_t preg = v6 ? NFT_REG32_00 + 4 : NFT_REG32_00 + 1;
	struct nftnl_expr *e;

	if (add_expr(r, expr_meta(NFT_META_NFPROTO, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_cmp_eq(NFT_REG_1, &nfproto, 1)) < 0 ||
	    add_expr(r, expr_meta(NFT_META_L4PROTO, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_cmp(tcp ? NFT_CMP_EQ : NFT_CMP_NEQ, NFT_REG_1, &tcpn, 1)) < 0)
		return -ENOMEM;
	if (tcp && (add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1)) < 0 ||
		    add_expr(r, expr_bitwise_and(NFT_REG_1, 0x12 /* syn|ack */, 1)) < 0 ||
		    add_expr(r, expr_cmp_eq(NFT_REG_1, &syn, 1)) < 0))
		return -ENOMEM;
	if (
	    add_expr(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4,
				     NFT_REG32_00)) < 0)
		return -ENOMEM;
	if (!host && (add_expr(r, expr_meta(NFT_META_L4PROTO, preg)) < 0 ||
		      add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, preg + 1)) < 0))
		return -ENOMEM;
	e = nftnl_expr_alloc("lookup");
	if (e == NULL)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG32_00);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, map_names[m]);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)m + 1);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("nat");
	if (e == NULL)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG32_00);
	if (!host)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, preg);
	nftnl_rule_add_expr(r, e);
	return 0;
}


/* meta nfproto ipvX  ct state new  tcp flags & (syn|ack) != syn, then
 *   towards the old target: DADDR . l4proto . th dport @steerbackN  reject with tcp reset
 *   from the old target:    SADDR . l4proto . th sport @steerbackN  drop
 * A tcp packet that is not a SYN and yet starts a flow belongs to a connection
 * whose flow was cut (--kill-flows) or began before tracking did. The
 * caller's next packet to the old target gets a reset (it reconnects, and its
 * SYN is steered); a push from the old server is dropped, so it cannot pick
 * the connection up again in reverse. The cheap tests come first. */
static int rule_add_steerback(struct nftnl_rule *r, enum isol_map m, bool to_target)
{
	bool v6 = m == ISOL_MAP_STEERBACK6;
	uint8_t nfproto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, syn = 0x02;
	uint32_t preg = v6 ? NFT_REG32_00 + 4 : NFT_REG32_00 + 1, zero = 0;
	uint32_t aoff = to_target ? (v6 ? 24 : 16) : (v6 ? 8 : 12);
	struct nftnl_expr *e, *ct;

	if (add_expr(r, expr_meta(NFT_META_NFPROTO, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_cmp_eq(NFT_REG_1, &nfproto, 1)) < 0)
		return -ENOMEM;
	ct = nftnl_expr_alloc("ct");
	if (ct == NULL)
		return -ENOMEM;
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, ct);
	if (add_expr(r, expr_bitwise_and(NFT_REG_1, 1u << 3 /* NF_CT_STATE_BIT(IP_CT_NEW) */, 4)) <
		    0 ||
	    add_expr(r, expr_cmp(NFT_CMP_NEQ, NFT_REG_1, &zero, 4)) < 0 ||
	    add_expr(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, aoff, v6 ? 16 : 4,
				     NFT_REG32_00)) < 0 ||
	    add_expr(r, expr_meta(NFT_META_L4PROTO, preg)) < 0 ||
	    add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, to_target ? 2 : 0, 2,
				     preg + 1)) < 0)
		return -ENOMEM;
	e = nftnl_expr_alloc("lookup");
	if (e == NULL)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, map_names[m]);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)m + 1);
	nftnl_rule_add_expr(r, e);
	if (add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_bitwise_and(NFT_REG_1, 0x12 /* syn|ack */, 1)) < 0 ||
	    add_expr(r, expr_cmp(NFT_CMP_NEQ, NFT_REG_1, &syn, 1)) < 0)
		return -ENOMEM;
	if (to_target)
		return add_expr(r, expr_reject(NFT_REJECT_TCP_RST, 0));
	return add_expr(r, expr_verdict(NF_DROP));
}

static int emit_table(struct nft_batch *b, const struct nft_table_opts *o, uint16_t type,
		      uint16_t flags, const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	uint32_t tflags = 0;

	if (t == NULL)
		return b->error = -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, o->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (type == NFT_MSG_NEWTABLE) {
		if (o->owner)
			tflags |= NFT_TABLE_F_OWNER;
		if (o->owner && o->persist)
			tflags |= NFT_TABLE_F_PERSIST;
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, tflags);
	}
	nlh = msg_start(b, type, flags, what, 0, 0);
	if (nlh == NULL) {
		nftnl_table_free(t);
		return b->error;
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	msg_done(b, nlh);
	return 0;
}

int nft_encode_destroy_table(struct nft_batch *b, const struct nft_table_opts *o)
{
	return emit_table(b, o, ISOL_NFT_MSG_DESTROYTABLE, 0, "remove table");
}

int nft_encode_rebuild(struct nft_batch *b, const struct nft_table_opts *o, bool steering)
{
	uint8_t tcp = IPPROTO_TCP;
	uint32_t zero = 0;
	struct nftnl_rule *r;
	size_t i;
	int m;

	if (nft_encode_destroy_table(b, o) < 0 ||
	    emit_table(b, o, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "create table") < 0)
		return b->error;
	for (m = 0; m < ISOL_MAP_STEER4; m++)
		if (emit_map(b, o, (enum isol_map)m) < 0)
			return b->error;
	for (m = ISOL_MAP_STEER4; m < ISOL_MAP_STEERBACK4; m++)
		if (emit_steer_map(b, o, (enum isol_map)m) < 0)
			return b->error;
	for (m = ISOL_MAP_STEERBACK4; m <= ISOL_MAP_STEERBACK6; m++)
		if (emit_steerback_set(b, o, (enum isol_map)m) < 0)
			return b->error;

	if (emit_hits_set(b, o) < 0)
		return b->error;

	/* rej, where every isolated packet comes with its isolation's mark:
	 *   update @hits { meta mark }        its counter (a full set breaks
	 *                                     this rule only: still rejected)
	 *   meta mark & DROP == DROP  drop    mode drop
	 *   tcp: reset (connect fails with ECONNREFUSED at once), the rest
	 *   ICMP admin-prohibited */
	if (emit_chain(b, o, REJECT_CHAIN, -1) < 0)
		return b->error;
	r = rule_new(o, REJECT_CHAIN);
	if (r == NULL || add_expr(r, expr_meta(NFT_META_MARK, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_dynset_update(NFT_REG_1, ISOL_SET_HITS)) < 0 || emit_rule(b, r) < 0)
		goto nomem_rule;
	r = rule_new(o, REJECT_CHAIN);
	if (r == NULL || add_expr(r, expr_meta(NFT_META_MARK, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_bitwise_and(NFT_REG_1, ISOL_MARK_DROP, 4)) < 0 ||
	    add_expr(r, expr_cmp(NFT_CMP_NEQ, NFT_REG_1, &zero, 4)) < 0 ||
	    add_expr(r, expr_verdict(NF_DROP)) < 0 || emit_rule(b, r) < 0)
		goto nomem_rule;
	r = rule_new(o, REJECT_CHAIN);
	if (r == NULL || add_expr(r, expr_meta(NFT_META_L4PROTO, NFT_REG_1)) < 0 ||
	    add_expr(r, expr_cmp_eq(NFT_REG_1, &tcp, 1)) < 0 ||
	    add_expr(r, expr_reject(NFT_REJECT_TCP_RST, 0)) < 0 || emit_rule(b, r) < 0)
		goto nomem_rule;
	r = rule_new(o, REJECT_CHAIN);
	if (r == NULL ||
	    add_expr(r, expr_reject(NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED)) <
		    0 ||
	    emit_rule(b, r) < 0)
		goto nomem_rule;

	for (i = 0; i < NCHAINS; i++) {
		int f;

		for (f = 0; f < 2; f++) {
			enum isol_map map = chains[i].first_map + (enum isol_map)(2 * f);

			if (emit_chain(b, o, chains[i].fam[f], -1) < 0)
				return b->error;
			/* exact (hash) before interval (pipapo): the cheaper lookup first */
			for (m = 0; m < 2; m++) {
				r = rule_new(o, chains[i].fam[f]);
				if (r == NULL ||
				    rule_add_lookup(r, map + (enum isol_map)m, (uint32_t)(map + m) + 1) <
					    0 ||
				    emit_rule(b, r) < 0)
					goto nomem_rule;
			}
		}
		if (emit_chain(b, o, chains[i].name, (int)chains[i].hook) < 0 ||
		    emit_exemptions(b, o, chains[i].name, chains[i].by_cgroup,
				    chains[i].hook == NF_INET_LOCAL_IN) < 0)
			return b->error;
		for (f = 0; f < 2; f++) {
			uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

			r = rule_new(o, chains[i].name);
			if (r == NULL || add_expr(r, expr_meta(NFT_META_NFPROTO, NFT_REG_1)) < 0 ||
			    add_expr(r, expr_cmp_eq(NFT_REG_1, &nfproto, 1)) < 0 ||
			    add_expr(r, expr_goto(chains[i].fam[f])) < 0 || emit_rule(b, r) < 0)
				goto nomem_rule;
		}
	}
	if (steering)
		return nft_encode_steering(b, o, true);
	return b->error;

nomem_rule:
	/* emit_rule frees its rule; a rule that failed before it is leaked no
	 * more than one at a time */
	if (b->error == 0)
		b->error = -ENOMEM;
	return b->error;
}

static int emit_steering_chain(struct nft_batch *b, const struct nft_table_opts *o, size_t i)
{
	struct nftnl_rule *r;
	int m, tcp, v6;

	if (emit_chain_typed(b, o, steer_chains[i].name, (int)steer_chains[i].hook,
			     steer_chains[i].type, steer_chains[i].prio) < 0 ||
	    emit_exemptions(b, o, steer_chains[i].name, steer_chains[i].by_cgroup, false) < 0)
		return b->error;
	if (strcmp(steer_chains[i].type, "nat") == 0) {
		for (m = ISOL_MAP_STEER4; m < ISOL_MAP_STEERBACK4; m++)
			for (tcp = 1; tcp >= 0; tcp--) {
				r = rule_new(o, steer_chains[i].name);
				if (r == NULL || rule_add_dnat(r, (enum isol_map)m, tcp) < 0 ||
				    emit_rule(b, r) < 0)
					goto nomem;
			}
		return b->error;
	}
	for (v6 = 0; v6 < 2; v6++) {
		enum isol_map sb = v6 ? ISOL_MAP_STEERBACK6 : ISOL_MAP_STEERBACK4;

		if (steer_chains[i].to_target) {
			r = rule_new(o, steer_chains[i].name);
			if (r == NULL || rule_add_steerback(r, sb, true) < 0 || emit_rule(b, r) < 0)
				goto nomem;
		}
		if (steer_chains[i].from_target) {
			r = rule_new(o, steer_chains[i].name);
			if (r == NULL || rule_add_steerback(r, sb, false) < 0 || emit_rule(b, r) < 0)
				goto nomem;
		}
	}
	return b->error;

nomem:
	if (b->error == 0)
		b->error = -ENOMEM;
	return b->error;
}

int nft_encode_steering(struct nft_batch *b, const struct nft_table_opts *o, bool on)
{
	size_t i;

	for (i = 0; i < NSTEER_CHAINS && b->error == 0; i++) {
		if (on) {
			emit_steering_chain(b, o, i);
		} else {
			struct nftnl_chain *c = nftnl_chain_alloc();
			struct nlmsghdr *nlh;

			if (c == NULL)
				return b->error = -ENOMEM;
			nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, o->table);
			nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, steer_chains[i].name);
			nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
			/* its rules go with it; destroy: no error if someone removed it */
			nlh = msg_start(b, ISOL_NFT_MSG_DESTROYCHAIN, 0, "remove chain", 0, 0);
			if (nlh)
				nftnl_chain_nlmsg_build_payload(nlh, c);
			nftnl_chain_free(c);
			if (nlh)
				msg_done(b, nlh);
		}
	}
	return b->error;
}

/* --- elements -------------------------------------------------------------- */

enum isol_map nft_map_for(const struct isol_spec *spec, unsigned dir)
{
	if (spec->kind == ISOL_KIND_STEER) {
		bool v6 = spec->target.family == AF_INET6;

		if (isol_target_has_port(&spec->target))
			return v6 ? ISOL_MAP_STEER6 : ISOL_MAP_STEER4;
		return v6 ? ISOL_MAP_STEERH6 : ISOL_MAP_STEERH4;
	}
	int d = dir == ISOL_DIR_IN ? 1 : dir == ISOL_DIR_FWD ? 2 : 0;
	int v6 = spec->target.family == AF_INET6;
	int range = !isol_target_is_exact(&spec->target);

	return (enum isol_map)((d * 2 + v6) * 2 + range);
}

/* Key layout in 32-bit registers: addr | proto,0,0,0 | port_be,0,0 */
static size_t key_build(const struct isol_target *t, bool high, uint8_t *key)
{
	size_t alen = (size_t)isol_target_addr_len(t), i;
	uint16_t port = htons(high ? t->port_hi : t->port_lo);

	memset(key, 0, alen + 8);
	memcpy(key, t->addr, alen);
	if (high) {
		for (i = t->plen; i < alen * 8; i++)
			key[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		key[alen] = t->proto ? t->proto : 255;
	} else {
		key[alen] = t->proto;
	}
	memcpy(key + alen + 4, &port, 2);
	return alen + 8;
}

uint32_t nft_isolation_mark(const struct isol_action *a)
{
	return (uint32_t)(a->id & ~(uint64_t)ISOL_MARK_DROP) |
	       (a->spec.mode == ISOL_MODE_DROP ? ISOL_MARK_DROP : 0);
}

int nft_elem_comment(uint64_t id, char *buf, size_t len)
{
	char digits[20];
	size_t n = 0;

	/* snprintf's cost, 100,000 times in a large apply, shows */
	do {
		digits[sizeof(digits) - ++n] = (char)('0' + id % 10);
		id /= 10;
	} while (id);
	if (len < n + 6)
		return snprintf(buf, len, "isol:%.*s", (int)n, digits + sizeof(digits) - n);
	memcpy(buf, "isol:", 5);
	memcpy(buf + 5, digits + sizeof(digits) - n, n);
	buf[5 + n] = '\0';
	return (int)(5 + n);
}

uint64_t nft_elem_comment_id(const void *udata, uint32_t len)
{
	const uint8_t *p = udata, *end = p + len;

	/* TLVs: type u8, len u8, value */
	while (p + 2 <= end && p + 2 + p[1] <= end) {
		if (p[0] == ISOL_UDATA_SET_ELEM_COMMENT && p[1] > 5 &&
		    memcmp(p + 2, "isol:", 5) == 0) {
			char tmp[32];
			size_t n = p[1] - 5u < sizeof(tmp) - 1 ? p[1] - 5u : sizeof(tmp) - 1;

			memcpy(tmp, p + 7, n);
			tmp[n] = '\0';
			return strtoull(tmp, NULL, 10);
		}
		p += 2 + p[1];
	}
	return 0;
}

/* Elements are written with libmnl straight into the batch, in the
 * kernel's layout (nf_tables.h): libnftnl's element objects cost two
 * allocations and a copy each, a tenth of a large apply's user time.
 * test_nft parses every message back with libnftnl. */
static void put_data(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(nlh, nest);
}

/* One element of @a in @map: its key (and the end of its interval); to add,
 * its timeout, its value (an isolation's mark, a steer's new address) and
 * the comment "isol:ID". In @hits the key is the isolation's mark. */
static void put_elem(struct nlmsghdr *nlh, const struct isol_action *a, enum isol_map map,
		     bool add, uint64_t now_ms)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	uint8_t key[24], udata[2 + 32];
	size_t klen;
	int n;

	if (map == ISOL_SET_HITS) {
		uint32_t mark = nft_isolation_mark(a);

		put_data(nlh, NFTA_SET_ELEM_KEY, &mark, sizeof(mark));
		mnl_attr_nest_end(nlh, nest);
		return;
	}
	klen = key_build(&a->spec.target, false, key);
	if (a->spec.kind == ISOL_KIND_STEER && !isol_target_has_port(&a->spec.target))
		klen = (size_t)isol_target_addr_len(&a->spec.target); /* the host alone */
	put_data(nlh, NFTA_SET_ELEM_KEY, key, klen);
	if (map < ISOL_MAP_STEER4 && map_is_range(map)) {
		key_build(&a->spec.target, true, key);
		put_data(nlh, NFTA_SET_ELEM_KEY_END, key, klen);
	}
	if (!add) {
		mnl_attr_nest_end(nlh, nest);
		return;
	}
	if (a->expires_ms)
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(a->expires_ms - now_ms));
	if (a->spec.kind == ISOL_KIND_ISOLATE) {
		uint32_t mark = nft_isolation_mark(a);

		put_data(nlh, NFTA_SET_ELEM_DATA, &mark, sizeof(mark));
	} else if (a->spec.kind == ISOL_KIND_STEER && map < ISOL_MAP_STEERBACK4) {
		size_t alen = (size_t)isol_target_addr_len(&a->spec.target);
		uint16_t port = htons(a->spec.to_port ? a->spec.to_port : a->spec.target.port_lo);
		uint8_t data[20];

		memset(data, 0, sizeof(data));
		memcpy(data, a->spec.to_addr, alen);
		if (isol_target_has_port(&a->spec.target)) {
			memcpy(data + alen, &port, 2);
			alen += 4;
		}
		put_data(nlh, NFTA_SET_ELEM_DATA, data, alen);
	}
	n = nft_elem_comment(a->id, (char *)udata + 2, sizeof(udata) - 2);
	udata[0] = ISOL_UDATA_SET_ELEM_COMMENT;
	udata[1] = (uint8_t)(n + 1);
	mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, (size_t)n + 3, udata);
	mnl_attr_nest_end(nlh, nest);
}

/* The sets an action has an element in: one per direction for an isolation
 * (and on removal @hits, for its counter);
 * the DNAT map for a steer, and for a tcp port with --kill-flows its
 * steerback set. */
static size_t sets_of(const struct isol_action *a, bool add, enum isol_map *maps)
{
	size_t n = 0, d;

	if (a->spec.kind == ISOL_KIND_STEER) {
		maps[n++] = nft_map_for(&a->spec, ISOL_DIR_OUT);
		/* old flows are cut only when asked; a steer without --kill-flows
		 * leaves them with the old server, also those older than tracking */
		if (a->spec.kill_flows && a->spec.target.proto == IPPROTO_TCP &&
		    isol_target_has_port(&a->spec.target))
			maps[n++] = a->spec.target.family == AF_INET6 ? ISOL_MAP_STEERBACK6
								    : ISOL_MAP_STEERBACK4;
		return n;
	}
	if (a->spec.kind != ISOL_KIND_ISOLATE)
		return 0; /* pins and routes are not ours to encode */
	for (d = 0; d < NCHAINS; d++)
		if (a->spec.dirs & chains[d].dir)
			maps[n++] = nft_map_for(&a->spec, chains[d].dir);
	if (!add) /* and its counter, if a packet made one */
		maps[n++] = ISOL_SET_HITS;
	return n;
}

/* The elements of one set: messages of ISOL_ELEMS_PER_MSG elements, each
 * naming the first and last action in it (kernel errors are told by them). */
static int emit_elems(struct nft_batch *b, const struct nft_table_opts *o, enum isol_map map,
		      struct isol_action *const *actions, const uint32_t *idx, size_t n, bool add,
		      uint64_t now_ms)
{
	char what[40];
	size_t i = 0;

	snprintf(what, sizeof(what), "%s elements %s %s", add ? "add" : "remove",
		 add ? "to" : "from", map_names[map]);
	while (i < n && b->error == 0) {
		size_t k, end = n - i < ISOL_ELEMS_PER_MSG ? n : i + ISOL_ELEMS_PER_MSG;
		struct nlmsghdr *nlh;
		struct nlattr *list;

		nlh = msg_start(b, add ? NFT_MSG_NEWSETELEM : ISOL_NFT_MSG_DESTROYSETELEM,
				add ? NLM_F_CREATE | NLM_F_EXCL : 0, what, actions[idx[i]]->id,
				actions[idx[end - 1]]->id);
		if (nlh == NULL)
			break;
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, o->table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, map_names[map]);
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (k = i; k < end; k++)
			put_elem(nlh, actions[idx[k]], map, add, now_ms);
		mnl_attr_nest_end(nlh, list);
		msg_done(b, nlh);
		i = end;
	}
	return b->error;
}

int nft_encode_actions(struct nft_batch *b, const struct nft_table_opts *o,
		       struct isol_action *const *actions, size_t n, bool add, uint64_t now_ms)
{
	size_t count[__ISOL_MAP_MAX + 1] = { 0 }, i, k, total = 0;
	enum isol_map maps[NCHAINS + 1];
	uint32_t *idx;
	int m;

	if (b->error)
		return b->error;
	if (n > UINT32_MAX)
		return b->error = -E2BIG;
	/* group the actions by set, in their order: a counting sort */
	for (i = 0; i < n; i++) {
		if (add && actions[i]->expires_ms && actions[i]->expires_ms <= now_ms)
			continue; /* already expired: nothing for the kernel to hold */
		for (k = sets_of(actions[i], add, maps); k > 0; k--)
			count[maps[k - 1] + 1]++;
	}
	for (m = 0; m < __ISOL_MAP_MAX; m++)
		count[m + 1] += count[m]; /* count[m]: where map m's run starts */
	total = count[__ISOL_MAP_MAX];
	if (total == 0)
		return 0;
	idx = malloc(total * sizeof(*idx));
	if (idx == NULL)
		return b->error = -ENOMEM;
	for (i = 0; i < n; i++) {
		if (add && actions[i]->expires_ms && actions[i]->expires_ms <= now_ms)
			continue;
		for (k = sets_of(actions[i], add, maps); k > 0; k--)
			idx[count[maps[k - 1]]++] = (uint32_t)i;
	}
	/* count[m] is now where map m's run ends: the start of m + 1 */
	for (m = 0; m < __ISOL_MAP_MAX && b->error == 0; m++) {
		size_t from = m ? count[m - 1] : 0;

		if (count[m] > from)
			emit_elems(b, o, (enum isol_map)m, actions, idx + from, count[m] - from,
				   add, now_ms);
	}
	free(idx);
	return b->error;
}

int nft_encode_hits_forget(struct nft_batch *b, const struct nft_table_opts *o,
			   const uint32_t *marks, size_t n)
{
	size_t i = 0;

	while (i < n && b->error == 0) {
		size_t k, end = n - i < ISOL_ELEMS_PER_MSG ? n : i + ISOL_ELEMS_PER_MSG;
		struct nlmsghdr *nlh;
		struct nlattr *list;

		nlh = msg_start(b, ISOL_NFT_MSG_DESTROYSETELEM, 0, "remove stale counters", 0, 0);
		if (nlh == NULL)
			break;
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, o->table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, map_names[ISOL_SET_HITS]);
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (k = i; k < end; k++) {
			struct nlattr *e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);

			put_data(nlh, NFTA_SET_ELEM_KEY, &marks[k], sizeof(marks[k]));
			mnl_attr_nest_end(nlh, e);
		}
		mnl_attr_nest_end(nlh, list);
		msg_done(b, nlh);
		i = end;
	}
	return b->error;
}

/* --- description (dry run, logs) ------------------------------------------ */

static void key_text(const struct isol_target *t, char *buf, size_t len)
{
	char a[64], ports[16], proto[8];

	inet_ntop(t->family, t->addr, a, sizeof(a));
	if (!isol_target_is_host(t))
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%u", t->plen);
	if (t->proto)
		snprintf(proto, sizeof(proto), "%s", isol_proto_name(t->proto));
	else
		snprintf(proto, sizeof(proto), "0-255");
	if (t->port_lo == t->port_hi)
		snprintf(ports, sizeof(ports), "%u", t->port_lo);
	else
		snprintf(ports, sizeof(ports), "%u-%u", t->port_lo, t->port_hi);
	snprintf(buf, len, "%s . %s . %s", a, proto, ports);
}

void nft_describe_action(const struct nft_table_opts *o, const struct isol_action *a, bool add,
			 uint64_t now_ms, void (*fn)(const char *line, void *data), void *data)
{
	char key[128], line[384], ttl[32] = "", value[80] = "";
	size_t d;

	if (a->spec.kind != ISOL_KIND_ISOLATE && a->spec.kind != ISOL_KIND_STEER)
		return;
	key_text(&a->spec.target, key, sizeof(key));
	if (add && a->expires_ms > now_ms) {
		strcpy(ttl, " timeout ");
		isol_duration_format(a->expires_ms - now_ms, ttl + 9, sizeof(ttl) - 9);
	}
	if (a->spec.kind == ISOL_KIND_ISOLATE) {
		snprintf(value, sizeof(value), " : 0x%08x", nft_isolation_mark(a));
	} else {
		char to[64];

		inet_ntop(a->spec.target.family, a->spec.to_addr, to, sizeof(to));
		if (!isol_target_has_port(&a->spec.target)) {
			inet_ntop(a->spec.target.family, a->spec.target.addr, key, sizeof(key));
			snprintf(value, sizeof(value), " : %s", to);
		} else {
			snprintf(value, sizeof(value), " : %s . %u", to,
				 a->spec.to_port ? a->spec.to_port : a->spec.target.port_lo);
		}
	}
	for (d = 0; d < NCHAINS; d++) {
		const char *set;

		if (a->spec.kind == ISOL_KIND_STEER ? d > 0 : !(a->spec.dirs & chains[d].dir))
			continue;
		set = map_names[nft_map_for(&a->spec, chains[d].dir)];
		if (add)
			snprintf(line, sizeof(line),
				 "add element inet %s %s { %s%s comment \"isol:%llu\"%s }", o->table,
				 set, key, ttl, (unsigned long long)a->id, add ? value : "");
		else
			snprintf(line, sizeof(line), "destroy element inet %s %s { %s }", o->table,
				 set, key);
		fn(line, data);
	}
	if (!add && a->spec.kind == ISOL_KIND_ISOLATE) {
		snprintf(line, sizeof(line), "destroy element inet %s %s { 0x%08x }", o->table,
			 map_names[ISOL_SET_HITS], nft_isolation_mark(a));
		fn(line, data);
	}
}
