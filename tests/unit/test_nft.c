/* test_nft.c - the nftables encoder without a kernel: build the batch, parse
 * every message back with libnftnl, compare with what we meant. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include "kcompat.h"
#include "nft.h"

struct seen {
	int steer_maps, lookups, dispatches, dnats, destroy_chains, hits_sets, hits_updates;
	/* the exec probes' exemption: socket cgroupv2 level L == id accept */
	int sockets, sockmarks;
	uint32_t socket_level;
	uint64_t socket_id;
	char socket_chains[64]; /* "out,in," in the order seen */
	char chain[32];		/* the chain of the last rule, and its index there */
	int rule_idx;
	bool mark_first; /* the chain's first rule tests the mark */
	int begin, end, destroy_table, new_table, sets, chains, rules, elem_msgs, elems,
	    destroy_elem_msgs;
	uint32_t table_flags;
	size_t max_msg;
	struct nftnl_set *last_elems; /* elements of the last NEWSETELEM message */
	char last_set[32];
};

/* libnftnl numbers list elements 1, 2, 3... when it builds a message (the
 * kernel does not care) but its parser wants NFTA_LIST_ELEM on each, as the
 * kernel sends them: normalise a copy before parsing it back. */
static struct nlmsghdr *normalised_copy(const struct nlmsghdr *nlh)
{
	struct nlmsghdr *c = malloc(nlh->nlmsg_len);
	struct nlattr *attr, *inner;

	assert_non_null(c);
	memcpy(c, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(attr, c, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(inner, attr)
		{
			inner->nla_type = NFTA_LIST_ELEM | (inner->nla_type & NLA_F_NESTED);
		}
	}
	return c;
}

/* A rule that looks up an isolation map must set the packet's mark to the
 * hit's value and go on to `goto rej`; rej counts it in @hits (the mark the
 * key) first; a rule in a hook chain that
 * goes to a family chain must test the family first; a DNAT of tcp takes
 * SYNs only. */
static void check_rule(const struct nlmsghdr *nlh, struct seen *s)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e, *prev = NULL;
	const char *chain;
	bool lookup = false, l4 = false, syn_test = false, mark_loaded = false;
	int lookup_step = 0; /* 1: looked up, 2: mark set, then the goto */
	int tcp_op = -1; /* the op of a cmp of meta l4proto with tcp */
	int socket = 0;	 /* 1: socket loaded, 2: compared, 3: accepted */
	uint32_t sock_reg = 0;

	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (strcmp(chain, s->chain) == 0) {
		s->rule_idx++;
	} else {
		snprintf(s->chain, sizeof(s->chain), "%s", chain);
		s->rule_idx = 0;
	}
	it = nftnl_expr_iter_create(r);
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (strcmp(name, "meta") == 0 && s->rule_idx == 0)
			s->mark_first = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_MARK;
		if (strcmp(name, "socket") == 0 &&
		    nftnl_expr_get_u32(e, NFTNL_EXPR_SOCKET_KEY) == NFT_SOCKET_MARK) {
			/* input only, right after the mark rule: the replies to probes */
			assert_string_equal(chain, "in");
			assert_int_equal(s->rule_idx, 1);
			assert_true(s->mark_first);
			sock_reg = nftnl_expr_get_u32(e, NFTNL_EXPR_SOCKET_DREG);
			socket = 11;
			s->sockmarks++;
		} else if (socket == 11) {
			uint32_t len, mark;
			const void *v;

			assert_string_equal(name, "cmp");
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG), sock_reg);
			v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
			assert_int_equal(len, 4);
			memcpy(&mark, v, 4);
			assert_int_equal(mark, ISOL_DEFAULT_MARK);
			socket = 2;
		} else if (strcmp(name, "socket") == 0) {
			/* after the mark rules of a hook chain */
			assert_int_equal(s->rule_idx, strcmp(chain, "in") == 0 ? 2 : 1);
			assert_true(s->mark_first);
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_SOCKET_KEY),
					 NFT_SOCKET_CGROUPV2);
			s->socket_level = nftnl_expr_get_u32(e, NFTNL_EXPR_SOCKET_LEVEL);
			sock_reg = nftnl_expr_get_u32(e, NFTNL_EXPR_SOCKET_DREG);
			socket = 1;
			s->sockets++;
			strcat(s->socket_chains, chain);
			strcat(s->socket_chains, ",");
		} else if (socket == 1) {
			uint32_t len;
			const void *v;

			assert_string_equal(name, "cmp");
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG), sock_reg);
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), NFT_CMP_EQ);
			v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
			assert_int_equal(len, 8); /* the cgroup id, host byte order */
			memcpy(&s->socket_id, v, 8);
			socket = 2;
		} else if (socket == 2) {
			assert_string_equal(name, "immediate");
			assert_int_equal((int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT),
					 NF_ACCEPT);
			socket = 3;
		}
		if (strcmp(chain, "rej") == 0 && s->rule_idx == 0) {
			/* update @hits { meta mark }, before any verdict */
			if (strcmp(name, "meta") == 0) {
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY),
						 NFT_META_MARK);
				mark_loaded = true;
			} else {
				assert_true(mark_loaded);
				assert_string_equal(name, "dynset");
				assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_DYNSET_SET_NAME),
						    "hits");
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY),
						 nftnl_expr_get_u32(prev, NFTNL_EXPR_META_DREG));
				s->hits_updates++;
			}
		}
		if (strcmp(name, "lookup") == 0 &&
		    strncmp(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), "steer", 5) != 0) {
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG), NFT_REG_1);
			assert_non_null(strchr(chain, '_')); /* only in a family chain */
			lookup = true;
			lookup_step = 1;
			s->lookups++;
		} else if (lookup_step == 1) {
			/* meta mark set <the looked-up value> */
			assert_string_equal(name, "meta");
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY), NFT_META_MARK);
			assert_true(nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG));
			assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_SREG), NFT_REG_1);
			lookup_step = 2;
			prev = e;
			continue;
		} else if (strcmp(name, "meta") == 0) {
			l4 = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_L4PROTO;
		} else if (strcmp(name, "cmp") == 0 && l4) {
			uint32_t len;
			const uint8_t *v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);

			if (len == 1 && v[0] == IPPROTO_TCP)
				tcp_op = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
			l4 = false;
		} else if (strcmp(name, "bitwise") == 0 && tcp_op == NFT_CMP_EQ) {
			syn_test = true;
		} else if (strcmp(name, "nat") == 0) {
			/* tcp: SYNs only, so an untracked flow stays where it was */
			assert_true((tcp_op == NFT_CMP_EQ && syn_test) || tcp_op == NFT_CMP_NEQ);
			s->dnats++;
		}
		if (lookup && strcmp(name, "lookup") != 0) {
			assert_int_equal(lookup_step, 2);
			assert_string_equal(name, "immediate");
			assert_int_equal((int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT), NFT_GOTO);
			assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), "rej");
			lookup = false;
		} else if (strcmp(name, "immediate") == 0 &&
			   nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) &&
			   strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), "rej") != 0) {
			assert_non_null(prev);
			assert_string_equal(nftnl_expr_get_str(prev, NFTNL_EXPR_NAME), "cmp");
			assert_int_equal(strncmp(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), chain,
						 strlen(chain)),
					 0); /* out -> out_v4 */
			s->dispatches++;
		}
		prev = e;
	}
	assert_false(lookup); /* no lookup ends its rule */
	assert_true(socket == 0 || socket == 3);
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
}

static int count_expr(struct nftnl_expr *e, void *data)
{
	(void)e;
	++*(int *)data;
	return 0;
}

/* the set's expressions: a counter is one */
static int set_exprs(struct nftnl_set *st)
{
	int n = 0;

	nftnl_set_expr_foreach(st, count_expr, &n);
	return n;
}

static void walk(const struct nft_batch *b, struct seen *s)
{
	const struct nlmsghdr *nlh;
	int left = (int)b->len;
	uint32_t prev_seq = 0;
	int first = 1;

	memset(s, 0, sizeof(*s));
	for (nlh = (const struct nlmsghdr *)b->buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		uint16_t type = nlh->nlmsg_type & 0xff;

		if (!first)
			assert_true(nlh->nlmsg_seq > prev_seq); /* seqs increase */
		first = 0;
		prev_seq = nlh->nlmsg_seq;
		if (nlh->nlmsg_len > s->max_msg)
			s->max_msg = nlh->nlmsg_len;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
			s->begin++;
			continue;
		}
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			s->end++;
			continue;
		}
		assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		if (type == ISOL_NFT_MSG_DESTROYTABLE) {
			s->destroy_table++;
		} else if (type == NFT_MSG_NEWTABLE) {
			struct nftnl_table *t = nftnl_table_alloc();

			assert_int_equal(nftnl_table_nlmsg_parse(nlh, t), 0);
			assert_string_equal(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "isol");
			s->table_flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
			nftnl_table_free(t);
			s->new_table++;
		} else if (type == NFT_MSG_NEWSET) {
			struct nftnl_set *st = nftnl_set_alloc();
			const char *name;
			uint32_t flags;

			assert_int_equal(nftnl_set_nlmsg_parse(nlh, st), 0);
			name = nftnl_set_get_str(st, NFTNL_SET_NAME);
			flags = nftnl_set_get_u32(st, NFTNL_SET_FLAGS);
			if (strcmp(name, "hits") == 0) {
				/* marks, added by rej, each with a counter */
				assert_int_equal(flags, NFT_SET_EVAL);
				assert_int_equal(nftnl_set_get_u32(st, NFTNL_SET_KEY_TYPE),
						 ISOL_TYPE_MARK);
				assert_int_equal(nftnl_set_get_u32(st, NFTNL_SET_KEY_LEN), 4);
				assert_int_equal(set_exprs(st), 1);
				s->hits_sets++;
				nftnl_set_free(st);
				continue;
			}
			assert_true(flags & NFT_SET_TIMEOUT);
			if (strncmp(name, "steerback", 9) == 0) {
				/* keys only: the old targets of tcp steers */
				assert_false(flags & NFT_SET_MAP);
				s->steer_maps++;
			} else if (strncmp(name, "steer", 5) == 0) {
				/* DNAT maps: data is an address (and a port), no verdict */
				assert_true(flags & NFT_SET_MAP);
				assert_int_equal(nftnl_set_get_u32(st, NFTNL_SET_DATA_LEN),
						 (strchr(name, '6') ? 16 : 4) + (name[5] == 'h' ? 0 : 4));
				assert_int_equal(set_exprs(st), 1); /* a counter per element */
				s->steer_maps++;
			} else {
				/* names with an r are the interval maps */
				assert_int_equal(!!(flags & NFT_SET_INTERVAL), strchr(name, 'r') != NULL);
				/* maps to a mark, never a verdict (a goto inside an
				 * element would make every commit walk every element),
				 * and no counter per element (two per-CPU allocations
				 * each in the kernel) */
				assert_true(flags & NFT_SET_MAP);
				assert_int_equal(nftnl_set_get_u32(st, NFTNL_SET_DATA_TYPE),
						 ISOL_TYPE_MARK);
				assert_int_equal(nftnl_set_get_u32(st, NFTNL_SET_DATA_LEN), 4);
				assert_int_equal(set_exprs(st), 0);
				assert_int_equal(nftnl_set_get_u32(st, NFTNL_SET_KEY_LEN),
						 strchr(name, '6') ? 24 : 12);
				s->sets++;
			}
			nftnl_set_free(st);
		} else if (type == NFT_MSG_NEWCHAIN) {
			s->chains++;
		} else if (type == ISOL_NFT_MSG_DESTROYCHAIN) {
			s->destroy_chains++;
		} else if (type == NFT_MSG_NEWRULE) {
			check_rule(nlh, s);
			s->rules++;
		} else if (type == NFT_MSG_NEWSETELEM || type == ISOL_NFT_MSG_DESTROYSETELEM) {
			struct nftnl_set *st = nftnl_set_alloc();
			struct nlmsghdr *copy = normalised_copy(nlh);
			struct nftnl_set_elems_iter *it;

			assert_int_equal(nftnl_set_elems_nlmsg_parse(copy, st), 0);
			free(copy);
			it = nftnl_set_elems_iter_create(st);
			while (nftnl_set_elems_iter_next(it))
				s->elems++;
			nftnl_set_elems_iter_destroy(it);
			snprintf(s->last_set, sizeof(s->last_set), "%s",
				 nftnl_set_get_str(st, NFTNL_SET_NAME));
			if (type == NFT_MSG_NEWSETELEM)
				s->elem_msgs++;
			else
				s->destroy_elem_msgs++;
			if (s->last_elems)
				nftnl_set_free(s->last_elems);
			s->last_elems = st;
		} else {
			fail_msg("unexpected message type %u", type);
		}
	}
	assert_int_equal(left, 0); /* the buffer is exactly a list of messages */
}

/* an isolation element's value: the mark its packets get */
static uint32_t elem_mark(struct nftnl_set_elem *e)
{
	uint32_t len, v;
	const void *d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);

	assert_non_null(d);
	assert_int_equal(len, 4);
	memcpy(&v, d, 4);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT));
	return v;
}

static struct isol_action *mk(uint64_t id, const char *target, unsigned dirs, enum isol_mode mode,
			      uint64_t expires)
{
	struct isol_action *a = action_new();

	assert_non_null(a);
	isol_spec_init(&a->spec);
	assert_int_equal(isol_target_parse(target, &a->spec.target, NULL), 0);
	a->spec.dirs = dirs;
	a->spec.mode = mode;
	a->id = id;
	a->expires_ms = expires;
	return a;
}

static void test_rebuild_skeleton(void **state)
{
	struct nft_table_opts o;
	struct nft_batch b;
	struct seen s;

	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 100), 0);
	assert_int_equal(nft_encode_rebuild(&b, &o, false), 0);
	assert_int_equal(nft_batch_end(&b), 0);
	walk(&b, &s);
	assert_int_equal(s.begin, 1);
	assert_int_equal(s.end, 1);
	assert_int_equal(s.destroy_table, 1); /* destroy + create: one transaction */
	assert_int_equal(s.elem_msgs, 0);
	assert_int_equal(s.new_table, 1);
	assert_int_equal(s.table_flags, NFT_TABLE_F_OWNER | NFT_TABLE_F_PERSIST);
	assert_int_equal(s.sets, ISOL_MAP_STEER4);
	assert_int_equal(s.steer_maps, 6); /* 4 DNAT maps, 2 steerback sets */
	/* out in fwd, each with _v4 and _v6; rej; no steering chains */
	assert_int_equal(s.chains, 10);
	/* rej: 4; per hook: mark + 2 family gotos; per family chain: exact and
	 * range lookups */
	assert_int_equal(s.rules, nft_skeleton_rules(&o));
	/* and the input chain's socket mark rule: the replies to probes */
	assert_int_equal(nft_skeleton_rules(&o), 26); /* the watchdog compares with it */
	assert_int_equal(s.hits_sets, 1);
	assert_int_equal(s.hits_updates, 1);
	assert_int_equal(s.sockmarks, 1);
	assert_int_equal(s.sockets, 0); /* no cgroup: no exemption by cgroup */
	assert_int_equal(s.lookups, 12); /* one per map: 3 hooks x 2 families x 2 */
	assert_int_equal(s.dispatches, 6);
	assert_int_equal(s.dnats, 0);
	/* the first message after BEGIN is seq 101 */
	assert_non_null(nft_batch_find_seq(&b, 101));
	assert_string_equal(nft_batch_find_seq(&b, 101)->what, "remove table");
	assert_null(nft_batch_find_seq(&b, 99999));
	nft_batch_fini(&b);

	/* with a steer: the steering chains too (they turn conntrack on) */
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_rebuild(&b, &o, true), 0);
	walk(&b, &s);
	assert_int_equal(s.chains, 15); /* nat_out nat_pre steer_out steer_in steer_fwd */
	assert_int_equal(s.rules, nft_skeleton_rules(&o) + nft_steering_rules(&o));
	assert_int_equal(nft_steering_rules(&o), 29);
	assert_int_equal(s.sockets, 0);
	assert_int_equal(s.dnats, 16); /* 2 chains x 4 maps x (tcp SYN, other) */
	assert_int_equal(s.lookups, 12);
	nft_batch_fini(&b);

	/* the last steer gone: the five chains go, their rules with them */
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_steering(&b, &o, false), 0);
	walk(&b, &s);
	assert_int_equal(s.destroy_chains, 5);
	assert_int_equal(s.rules, 0);
	nft_batch_fini(&b);

	o.owner = false;
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_rebuild(&b, &o, false), 0);
	walk(&b, &s);
	assert_int_equal(s.table_flags, 0);
	assert_int_equal(s.end, 0); /* no END unless asked: a dry run */
	nft_batch_fini(&b);
}

/* With the exec probes' cgroup: one more rule, after the mark rule, in each
 * hook chain where a local socket is (output, and input for the replies). */
static void test_cgroup_exemption(void **state)
{
	struct nft_table_opts o;
	struct nft_batch b;
	struct seen s;

	nft_table_opts_init(&o);
	o.cgroup_id = 0x1122334455667788ull;
	o.cgroup_level = 3;
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_rebuild(&b, &o, false), 0);
	walk(&b, &s);
	assert_int_equal(s.rules, nft_skeleton_rules(&o));
	assert_int_equal(nft_skeleton_rules(&o), 26 + 2);
	assert_int_equal(s.sockets, 2);
	assert_string_equal(s.socket_chains, "out,in,"); /* not fwd: no local socket */
	assert_int_equal(s.socket_level, 3);
	assert_true(s.socket_id == 0x1122334455667788ull);
	nft_batch_fini(&b);

	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_rebuild(&b, &o, true), 0);
	walk(&b, &s);
	assert_int_equal(s.rules, nft_skeleton_rules(&o) + nft_steering_rules(&o));
	assert_int_equal(nft_steering_rules(&o), 29 + 2);
	/* nat_out: no DNAT for the probe; steer_out: no reset; the replies
	 * are never ct new, so steer_in needs none */
	assert_string_equal(s.socket_chains, "out,in,nat_out,steer_out,");
	nft_batch_fini(&b);

	/* the steering chains alone, added by the first steer */
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_steering(&b, &o, true), 0);
	walk(&b, &s);
	assert_int_equal(s.rules, nft_steering_rules(&o));
	assert_int_equal(s.sockets, 2);
	nft_batch_fini(&b);

	o.cgroup_id = 0; /* none: the counts of before */
	assert_int_equal(nft_skeleton_rules(&o), 26);
	assert_int_equal(nft_steering_rules(&o), 29);
}

static void test_exact_element(void **state)
{
	struct isol_action *a = mk(7, "10.0.0.5:5672", ISOL_DIR_OUT, ISOL_MODE_REJECT, 31000);
	static const uint8_t want[12] = {10, 0, 0, 5, IPPROTO_TCP, 0, 0, 0, 0x16, 0x28, 0, 0};
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct nft_table_opts o;
	struct nft_batch b;
	const void *key, *ud;
	uint32_t klen, ulen;
	struct seen s;

	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &a, 1, true, 1000), 0);
	assert_int_equal(nft_batch_end(&b), 0);
	walk(&b, &s);
	assert_int_equal(s.elem_msgs, 1);
	assert_int_equal(s.elems, 1);
	assert_string_equal(s.last_set, "out4");
	it = nftnl_set_elems_iter_create(s.last_elems);
	e = nftnl_set_elems_iter_next(it);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(klen, 12);
	assert_memory_equal(key, want, 12);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END));
	assert_int_equal(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT), 30000);
	/* mode reject: the id, no drop bit; the packet gets it as its mark */
	assert_int_equal(elem_mark(e), 7);
	assert_int_equal(nft_isolation_mark(a), 7);
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ulen);
	assert_int_equal(nft_elem_comment_id(ud, ulen), 7);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);

	/* removal: key only, destroy (no ENOENT for a kernel-expired element);
	 * then its counter in @hits, keyed by its mark (if a packet made one) */
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &a, 1, false, 1000), 0);
	walk(&b, &s);
	assert_int_equal(s.destroy_elem_msgs, 2);
	assert_int_equal(s.elem_msgs, 0);
	assert_int_equal(s.elems, 2);
	assert_string_equal(s.last_set, "hits");
	it = nftnl_set_elems_iter_create(s.last_elems);
	e = nftnl_set_elems_iter_next(it);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT));
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	assert_int_equal(klen, 4);
	assert_int_equal(*(const uint32_t *)key, 7);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	action_free(a);
}

static void test_range_element(void **state)
{
	struct isol_action *a =
	    mk(9, "[2001:db8::/64]:80-90/udp", ISOL_DIR_IN | ISOL_DIR_FWD, ISOL_MODE_DROP, 0);
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	const uint8_t *lo, *hi;
	struct nft_table_opts o;
	struct nft_batch b;
	uint32_t len;
	struct seen s;
	int i;

	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &a, 1, true, 1000), 0);
	walk(&b, &s);
	assert_int_equal(s.elem_msgs, 2); /* in6r and fwd6r: ranges */
	assert_string_equal(s.last_set, "fwd6r");
	it = nftnl_set_elems_iter_create(s.last_elems);
	e = nftnl_set_elems_iter_next(it);
	lo = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	assert_int_equal(len, 24);
	hi = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
	assert_int_equal(len, 24);
	for (i = 8; i < 16; i++) { /* host bits: 0 low, 1 high */
		assert_int_equal(lo[i], 0);
		assert_int_equal(hi[i], 0xff);
	}
	assert_int_equal(lo[16], IPPROTO_UDP);
	assert_int_equal(hi[16], IPPROTO_UDP);
	assert_int_equal(lo[20] << 8 | lo[21], 80);
	assert_int_equal(hi[20] << 8 | hi[21], 90);
	assert_false(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)); /* no TTL */
	/* mode drop: the high bit; ids past 2^31 keep their low 31 bits */
	assert_int_equal(elem_mark(e), ISOL_MARK_DROP | 9);
	a->id = (3ull << 31) | 9;
	assert_int_equal(nft_isolation_mark(a), ISOL_MARK_DROP | 9);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	action_free(a);
}

static void test_expired_skipped_and_all_protocols(void **state)
{
	struct isol_action *acts[2];
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct nft_table_opts o;
	struct nft_batch b;
	const uint8_t *hi;
	uint32_t len;
	struct seen s;

	acts[0] = mk(1, "10.0.0.9", ISOL_DIR_OUT, ISOL_MODE_REJECT, 500); /* expired at 1000 */
	acts[1] = mk(2, "10.0.0.8", ISOL_DIR_OUT, ISOL_MODE_REJECT, 0);
	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, acts, 2, true, 1000), 0);
	walk(&b, &s);
	assert_int_equal(s.elems, 1);
	assert_string_equal(s.last_set, "out4r"); /* a whole host is a range of protocols */
	it = nftnl_set_elems_iter_create(s.last_elems);
	e = nftnl_set_elems_iter_next(it);
	hi = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
	assert_int_equal(hi[4], 255);
	assert_int_equal(hi[8] << 8 | hi[9], 65535);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	action_free(acts[0]);
	action_free(acts[1]);
}

static void test_large_batch_split(void **state)
{
	enum { N = 100000 };
	struct isol_action **acts = calloc(N, sizeof(*acts));
	struct nft_table_opts o;
	struct nft_batch b;
	struct seen s;
	char t[32];
	size_t i;

	assert_non_null(acts);
	for (i = 0; i < N; i++) {
		snprintf(t, sizeof(t), "10.%zu.%zu.%zu:5672", i >> 16, (i >> 8) & 255, i & 255);
		acts[i] = mk(i + 1, t, ISOL_DIR_OUT, ISOL_MODE_REJECT, 10000000);
	}
	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, acts, N, true, 1000), 0);
	assert_int_equal(nft_batch_end(&b), 0);
	walk(&b, &s);
	assert_int_equal(s.elems, N);
	assert_int_equal(s.elem_msgs, (N + ISOL_ELEMS_PER_MSG - 1) / ISOL_ELEMS_PER_MSG);
	assert_true(s.max_msg < 65536); /* under the netlink attribute limit */
	/* a kernel error on message k names the actions in it */
	assert_int_equal(nft_batch_find_seq(&b, 3)->first_id, ISOL_ELEMS_PER_MSG + 1);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	for (i = 0; i < N; i++)
		action_free(acts[i]);
	free(acts);
}

static void test_steer_elements(void **state)
{
	struct isol_action *a = mk(5, "10.0.0.5:5672", ISOL_DIR_OUT, ISOL_MODE_REJECT, 0);
	struct isol_action *h = mk(6, "2001:db8::5", ISOL_DIR_OUT, ISOL_MODE_REJECT, 0);
	static const uint8_t want[8] = { 10, 0, 0, 6, 0x16, 0x29, 0, 0 };
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct nft_table_opts o;
	struct nft_batch b;
	const uint8_t *data;
	uint32_t len;
	struct seen s;

	a->spec.kind = ISOL_KIND_STEER;
	assert_int_equal(isol_spec_to_parse(&a->spec, "10.0.0.6:5673", true, NULL), 0);
	h->spec.kind = ISOL_KIND_STEER;
	assert_int_equal(isol_spec_to_parse(&h->spec, "2001:db8::6", false, NULL), 0);
	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &a, 1, true, 1000), 0);
	walk(&b, &s);
	/* one DNAT element whatever the directions; no steerback key: old
	 * flows stay unless cut */
	assert_int_equal(s.elems, 1);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	a->spec.kill_flows = true;
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &a, 1, true, 1000), 0);
	walk(&b, &s);
	/* with --kill-flows, and a steerback key */
	assert_int_equal(s.elems, 2);
	assert_string_equal(s.last_set, "steerback4");
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	/* the DNAT element alone, with its data */
	a->spec.target.proto = IPPROTO_UDP;
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &a, 1, true, 1000), 0);
	walk(&b, &s);
	assert_int_equal(s.elems, 1); /* udp: no steerback */
	assert_string_equal(s.last_set, "steer4");
	it = nftnl_set_elems_iter_create(s.last_elems);
	e = nftnl_set_elems_iter_next(it);
	data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(data, want, 8);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);

	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_actions(&b, &o, &h, 1, true, 1000), 0);
	walk(&b, &s);
	assert_string_equal(s.last_set, "steerh6"); /* a whole host: address to address */
	it = nftnl_set_elems_iter_create(s.last_elems);
	e = nftnl_set_elems_iter_next(it);
	nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	assert_int_equal(len, 16);
	data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
	assert_int_equal(len, 16);
	assert_int_equal(data[15], 6);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
	action_free(a);
	action_free(h);
}

/* stale counters: one destroy message for @hits per ISOL_ELEMS_PER_MSG marks */
static void test_hits_forget(void **state)
{
	uint32_t marks[ISOL_ELEMS_PER_MSG + 3];
	struct nftnl_set_elems_iter *it;
	struct nft_table_opts o;
	struct nft_batch b;
	struct seen s;
	const void *key;
	uint32_t klen, k;
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		marks[i] = (uint32_t)i | (i % 2 ? ISOL_MARK_DROP : 0);
	nft_table_opts_init(&o);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_encode_hits_forget(&b, &o, marks, sizeof(marks) / sizeof(marks[0])),
			 0);
	assert_int_equal(nft_batch_end(&b), 0);
	walk(&b, &s);
	assert_int_equal(s.destroy_elem_msgs, 2);
	assert_int_equal(s.elems, sizeof(marks) / sizeof(marks[0]));
	assert_string_equal(s.last_set, "hits");
	it = nftnl_set_elems_iter_create(s.last_elems);
	for (i = ISOL_ELEMS_PER_MSG; i < sizeof(marks) / sizeof(marks[0]); i++) {
		struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it);

		assert_non_null(e);
		key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
		assert_int_equal(klen, 4);
		memcpy(&k, key, 4);
		assert_int_equal(k, marks[i]);
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s.last_elems);
	nft_batch_fini(&b);
}

static void collect(const char *line, void *data)
{
	strcat((char *)data, line);
	strcat((char *)data, "\n");
}

static void test_describe(void **state)
{
	struct isol_action *a = mk(3, "10.0.0.5:5672", ISOL_DIR_ALL, ISOL_MODE_REJECT, 61000);
	struct nft_table_opts o;
	char buf[2048] = "";

	nft_table_opts_init(&o);
	nft_describe_action(&o, a, true, 1000, collect, buf);
	assert_non_null(strstr(
	    buf, "add element inet isol out4 { 10.0.0.5 . tcp . 5672 timeout 1m comment \"isol:3\" : 0x00000003 }"));
	assert_non_null(strstr(buf, "inet isol in4 "));
	assert_non_null(strstr(buf, "inet isol fwd4 "));
	assert_null(strstr(buf, "hits"));
	/* a removal: its elements, and its counter (if a packet made one) */
	buf[0] = '\0';
	a->spec.mode = ISOL_MODE_DROP;
	nft_describe_action(&o, a, false, 1000, collect, buf);
	assert_non_null(strstr(buf, "destroy element inet isol out4 { 10.0.0.5 . tcp . 5672 }"));
	assert_non_null(strstr(buf, "destroy element inet isol hits { 0x80000003 }"));
	action_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rebuild_skeleton),
	    cmocka_unit_test(test_cgroup_exemption),
	    cmocka_unit_test(test_exact_element),
	    cmocka_unit_test(test_range_element),
	    cmocka_unit_test(test_expired_skipped_and_all_protocols),
	    cmocka_unit_test(test_large_batch_split),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_hits_forget),
	    cmocka_unit_test(test_steer_elements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
