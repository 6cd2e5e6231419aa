/* nlport.c - netlink transport: batches out, errors and dumps in. */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "kcompat.h"
#include "nlport.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct nlport {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int sndbuf;
	char *rbuf;
	size_t rlen;
};

int nlport_open(struct nlport **pp, struct isol_err *err)
{
	struct nlport *p = calloc(1, sizeof(*p));
	int one = 1, rcv = 4 << 20;

	if (p == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	p->rlen = 256u << 10;
	p->rbuf = malloc(p->rlen);
	p->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (p->rbuf == NULL || p->nl == NULL) {
		int e = errno ? errno : ENOMEM;

		isol_err_set(err, -e, "cannot open netfilter netlink socket: %s", strerror(e));
		goto err_free;
	}
	if (mnl_socket_bind(p->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		isol_err_set(err, -errno, "cannot bind netlink socket: %s", strerror(errno));
		goto err_close;
	}
	/* errors carry only the header of the failed message, plus the
	 * kernel's extended message where it has one */
	mnl_socket_setsockopt(p->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(p->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(p->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) ==
	    -1)
		setsockopt(mnl_socket_get_fd(p->nl), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	p->portid = mnl_socket_get_portid(p->nl);
	p->seq = (uint32_t)time(NULL);
	*pp = p;
	return 0;

err_close:
	mnl_socket_close(p->nl);
err_free:
	free(p->rbuf);
	free(p);
	return err ? err->code : -EIO;
}

void nlport_close(struct nlport *p)
{
	if (p == NULL)
		return;
	mnl_socket_close(p->nl);
	free(p->rbuf);
	free(p);
}

uint32_t nlport_portid(const struct nlport *p)
{
	return p->portid;
}

uint32_t nlport_next_seq(struct nlport *p, uint32_t count)
{
	uint32_t s = p->seq;

	p->seq += count;
	return s;
}

static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* with CAP_ACK the original message is not echoed: TLVs follow the header */
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each_payload((const void *)((const char *)e + off),
				  (size_t)mnl_nlmsg_get_payload_len(nlh) - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

static const char *errno_hint(int e, const char *what)
{
	if (e == EEXIST && strstr(what, "elements"))
		return " (an equal or overlapping entry is already there)";
	if (e == EPERM)
		return " (the table is owned by another process: is another isolagent running?)";
	if (e == ENOENT && strstr(what, "elements"))
		return " (the entry is not there)";
	return "";
}

int nlport_send_batch(struct nlport *p, const struct nft_batch *b, struct isol_err *err)
{
	int fd = mnl_socket_get_fd(p->nl), first = 0;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };

	if (b->error)
		return isol_err_set(err, b->error, "cannot build netlink batch: %s",
				    strerror(-b->error));
	if ((int)b->len + 4096 > p->sndbuf) {
		int want = (int)b->len + 65536;

		/* the whole batch must fit one skb to be one transaction */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) == -1 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) == -1)
			return isol_err_set(err, -errno, "cannot size netlink send buffer: %s",
					    strerror(errno));
		p->sndbuf = want;
	}
	if (sendto(fd, b->buf, b->len, 0, (struct sockaddr *)&snl, sizeof(snl)) == -1)
		return isol_err_set(err, -errno, "netlink send of %zu bytes failed: %s", b->len,
				    strerror(errno));

	/* the kernel has processed the batch by now: errors are queued */
	for (;;) {
		ssize_t n = recv(fd, p->rbuf, p->rlen, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) /* too many errors to queue: still a failure */
				return isol_err_set(err, -ENOBUFS,
						    "kernel refused the batch (too many errors "
						    "to report)");
			return isol_err_set(err, -errno, "netlink receive failed: %s",
					    strerror(errno));
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)p->rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;
			const struct nft_msg_info *mi;
			const char *ext;
			int code;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error == 0)
				continue; /* an ACK */
			code = -e->error;
			if (first != 0)
				continue; /* report the first; the batch is void anyway */
			first = -code;
			mi = nft_batch_find_seq(b, nlh->nlmsg_seq);
			ext = ext_ack_msg(nlh);
			if (mi && mi->first_id)
				isol_err_set(err, -code, "kernel refused to %s (action%s %llu%s%.0llu): %s%s%s%s",
					     mi->what, mi->first_id != mi->last_id ? "s" : "",
					     (unsigned long long)mi->first_id,
					     mi->first_id != mi->last_id ? "-" : "",
					     (unsigned long long)(mi->first_id != mi->last_id ? mi->last_id : 0),
					     strerror(code), ext ? " (" : "", ext ? ext : "",
					     ext ? ")" : errno_hint(code, mi->what));
			else
				isol_err_set(err, -code, "kernel refused to %s: %s%s%s%s",
					     mi ? mi->what : "apply the batch", strerror(code),
					     ext ? " (" : "", ext ? ext : "",
					     ext ? ")" : errno_hint(code, mi ? mi->what : ""));
		}
	}
	return first;
}

struct dump_ctx {
	nlport_elem_fn fn;
	void *data;
	bool by_key; /* a set keyed by a u32 (@hits): the key, not the comment */
};

static int counter_cb(struct nftnl_expr *e, void *data)
{
	uint64_t *pb = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name && strcmp(name, "counter") == 0) {
		pb[0] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		pb[1] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct dump_ctx *ctx = data;
	uint64_t pb[2] = { 0, 0 }, id;
	const void *ud;
	uint32_t len = 0;

	if (ctx->by_key) {
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
		uint32_t k;

		if (key == NULL || len != sizeof(k))
			return 0;
		memcpy(&k, key, sizeof(k));
		id = k;
	} else {
		ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
		id = ud ? nft_elem_comment_id(ud, len) : 0;
		if (id == 0)
			return 0;
	}
	nftnl_set_elem_expr_foreach(e, counter_cb, pb);
	ctx->fn(id, pb[0], pb[1], ctx->data);
	return 0;
}

static int dump_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s == NULL)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0)
		nftnl_set_elem_foreach(s, elem_cb, data);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Send one request and run @cb over the reply until done. */
static int talk(struct nlport *p, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(p->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(p->nl, p->rbuf, p->rlen);
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(p->rbuf, (size_t)n, seq, p->portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -errno : 0;
}

int nlport_dump_counters(struct nlport *p, const char *table, const char *set, bool by_key,
			 nlport_elem_fn fn, void *data, struct isol_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx ctx = { fn, data, by_key };
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int rc;

	if (s == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK,
				    nlport_next_seq(p, 1));
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	rc = talk(p, nlh, dump_msg_cb, &ctx);
	if (rc < 0)
		return isol_err_set(err, rc, "cannot read counters of %s: %s", set, strerror(-rc));
	return 0;
}

struct table_info {
	uint32_t flags, owner;
	int found;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_info *ti = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (t == NULL)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		ti->found = 1;
		ti->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
		if (nftnl_table_is_set(t, NFTNL_TABLE_OWNER))
			ti->owner = nftnl_table_get_u32(t, NFTNL_TABLE_OWNER);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

int nlport_table_flags(struct nlport *p, const char *table, uint32_t *flags, uint32_t *owner)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct table_info ti = { 0, 0, 0 };
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int rc;

	if (t == NULL)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK,
				    nlport_next_seq(p, 1));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	rc = talk(p, nlh, table_cb, &ti);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (flags)
		*flags = ti.flags;
	if (owner)
		*owner = ti.owner;
	return ti.found;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(*(int *)data)++;
	return MNL_CB_OK;
}

int nlport_count_rules(struct nlport *p, const char *table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int n = 0, rc;

	if (r == NULL)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK,
				    nlport_next_seq(p, 1));
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	rc = talk(p, nlh, count_cb, &n);
	return rc < 0 ? rc : n;
}
