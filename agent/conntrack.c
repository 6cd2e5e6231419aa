/* conntrack.c - delete the conntrack entries of a target's flows: one dump
 * (filtered in the kernel where it can be), entries parsed and rebuilt as
 * delete requests with libnetfilter_conntrack, sent in batches on a second
 * socket while the dump goes on, all within a time budget. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* CTA_FILTER_ORIG_FLAGS bits: kernel ABI (CTA_FILTER_F_* in nf_internals.h) */
#define FILTER_IP_DST	 (1u << 1)
#define FILTER_PROTO_NUM (1u << 3)
#define FILTER_DST_PORT	 (1u << 5)

#define DUMP_BUF_SIZE 32768 /* the most the kernel puts in one dump message */
#define BATCH_LIMIT   16384 /* delete requests sent per sendmsg */
#define ACK_BUF_SIZE  16384
/* present in every network namespace where nf_conntrack is loaded */
#define CT_COUNT_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_count"

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_DCCP || proto == IPPROTO_UDPLITE;
}

bool conntrack_match(const struct isol_target *t, int family, const void *daddr, uint8_t proto,
		     uint16_t dport)
{
	if (family != t->family)
		return false;
	if (!isol_target_overlaps(t, family, daddr, (unsigned)isol_target_addr_len(t) * 8))
		return false;
	if (t->proto != 0 && proto != t->proto)
		return false;
	if (!isol_target_has_port(t))
		return true;
	return proto_has_ports(proto) && dport >= t->port_lo && dport <= t->port_hi;
}

/* What the kernel can match for us: exact values only. Not IPv6 addresses:
 * kernels since 5.8 compare those the wrong way round (they keep every
 * entry but the one asked for), so those stay with conntrack_match(). */
static uint32_t filter_flags(const struct isol_target *t)
{
	uint32_t f = 0;

	if (t->family == AF_INET && isol_target_is_host(t))
		f |= FILTER_IP_DST;
	if (t->proto != 0) {
		f |= FILTER_PROTO_NUM;
		if (isol_target_has_port(t) && t->port_lo == t->port_hi)
			f |= FILTER_DST_PORT;
	}
	return f;
}

size_t conntrack_dump_request(void *buf, const struct isol_target *t, uint32_t seq, bool filter)
{
	uint32_t flags = filter ? filter_flags(t) : 0;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct nlattr *tuple, *nest;

	memset(buf, 0, CONNTRACK_REQ_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)t->family; /* the kernel keeps to this family */
	nfg->version = NFNETLINK_V0;
	if (flags == 0)
		return nlh->nlmsg_len;

	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	if (flags & FILTER_IP_DST) {
		nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t->addr);
		mnl_attr_nest_end(nlh, nest);
	}
	if (flags & FILTER_PROTO_NUM) {
		nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
		if (flags & FILTER_DST_PORT)
			mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->port_lo));
		mnl_attr_nest_end(nlh, nest);
	}
	mnl_attr_nest_end(nlh, tuple);
	nest = mnl_attr_nest_start(nlh, CTA_FILTER);
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, flags);
	mnl_attr_nest_end(nlh, nest);
	return nlh->nlmsg_len;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct kill_run {
	const struct isol_target *t;
	struct mnl_socket *del; /* deletes go here: the dump socket is busy */
	uint32_t del_seq;
	struct mnl_nlmsg_batch *batch;
	unsigned queued; /* delete requests in the batch, not sent yet */
	char *dump_buf, *ack_buf;
	uint64_t deadline;
	bool out_of_time;
	unsigned scanned, matched, deleted, gone;
	int refused;   /* first errno the kernel gave for a delete (not ENOENT) */
	int cb_errno;  /* why the dump callback gave up */
	int del_errno; /* the delete socket itself failed */
};

static bool entry_matches(const struct isol_target *t, const struct nf_conntrack *ct)
{
	uint8_t l3 = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	uint16_t dport = 0;
	const void *daddr;

	if (l3 != AF_INET && l3 != AF_INET6)
		return false;
	daddr = nfct_get_attr(ct, l3 == AF_INET ? ATTR_ORIG_IPV4_DST : ATTR_ORIG_IPV6_DST);
	if (daddr == NULL)
		return false;
	if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) > 0)
		dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	return conntrack_match(t, l3, daddr, nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO), dport);
}

static struct mnl_socket *ct_socket_open(void)
{
	struct timeval tv = {.tv_sec = 1}; /* a kernel that does not answer must not hang us */
	struct mnl_socket *nl;
	int on = 1, e;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (nl == NULL)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
		e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	/* errors carry only the header of the request they answer, not all of
	 * it: a batch of refusals cannot overflow the receive buffer */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof(on));
	return nl;
}

/* Send the queued delete requests and read one answer per request. */
static int flush_deletes(struct kill_run *k)
{
	size_t len = mnl_nlmsg_batch_size(k->batch);
	unsigned want = k->queued;

	if (want == 0)
		return 0;
	if (mnl_socket_sendto(k->del, mnl_nlmsg_batch_head(k->batch), len) == -1)
		return -errno;
	k->queued = 0;
	/* the kernel handles the requests within sendmsg: the answers wait */
	while (want > 0) {
		ssize_t n = mnl_socket_recvfrom(k->del, k->ack_buf, ACK_BUF_SIZE);
		int left = (int)n;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)k->ack_buf;

		if (n == -1)
			return -errno;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(e->error)))
				continue;
			want--;
			if (e->error == 0)
				k->deleted++;
			else if (e->error == -ENOENT)
				k->gone++; /* timed out or closed meanwhile */
			else if (k->refused == 0)
				k->refused = -e->error;
		}
	}
	return 0;
}

/* Append the delete request of @ct to the batch; send the batch when full. */
static int queue_delete(struct kill_run *k, const struct nf_conntrack *ct)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(k->batch));
	struct nfgenmsg *nfg;
	int rc;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->del_seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (nfct_nlmsg_build(nlh, ct) == -1)
		return -errno;
	/* the entry's id: only that very entry goes, not a new flow that took
	 * over the same tuple meanwhile */
	if (nfct_attr_is_set(ct, ATTR_ID) > 0)
		mnl_attr_put_u32(nlh, CTA_ID, htonl(nfct_get_attr_u32(ct, ATTR_ID)));
	if (mnl_nlmsg_batch_next(k->batch)) {
		k->queued++;
		return 0;
	}
	/* this request did not fit: send the others, then it leads the next batch */
	rc = flush_deletes(k);
	mnl_nlmsg_batch_reset(k->batch);
	k->queued = 1;
	return rc;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kill_run *k = data;
	struct nf_conntrack *ct;
	int rc = MNL_CB_OK;

	k->scanned++;
	ct = nfct_new();
	if (ct == NULL) {
		k->cb_errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nfct_nlmsg_parse(nlh, ct) == 0 && entry_matches(k->t, ct)) {
		k->matched++;
		k->del_errno = -queue_delete(k, ct);
		if (k->del_errno != 0) {
			k->cb_errno = k->del_errno;
			rc = MNL_CB_ERROR;
		}
	}
	nfct_destroy(ct);
	return rc;
}

/* One dump: 0 when it ran to its end or out of time, -errno when it failed. */
static int run_dump(struct kill_run *k, struct mnl_socket *nl, uint32_t seq, bool filter)
{
	char req[CONNTRACK_REQ_SIZE];
	uint32_t portid = mnl_socket_get_portid(nl);
	size_t len = conntrack_dump_request(req, k->t, seq, filter);

	if (mnl_socket_sendto(nl, req, len) == -1)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, k->dump_buf, DUMP_BUF_SIZE);
		int rc;

		if (n == -1)
			return -errno;
		k->cb_errno = 0;
		rc = mnl_cb_run(k->dump_buf, (size_t)n, seq, portid, dump_cb, k);
		if (rc == MNL_CB_ERROR)
			return -(k->cb_errno ? k->cb_errno : errno);
		if (rc == MNL_CB_STOP)
			return 0;
		if (now_ns() > k->deadline) {
			k->out_of_time = true;
			return 0;
		}
	}
}

static bool conntrack_loaded(void)
{
	return access(CT_COUNT_SYSCTL, F_OK) == 0;
}

static long conntrack_count(void)
{
	FILE *f = fopen(CT_COUNT_SYSCTL, "r");
	long n = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* The kernel has no ctnetlink (socket: EPROTONOSUPPORT; request: EINVAL, the
 * nfnetlink subsystem is missing): nothing to do if conntrack itself is not
 * loaded, else the flows exist and cannot be cut. */
static int no_ctnetlink(int e, const char *tname, struct isol_err *err)
{
	if (!conntrack_loaded())
		return 0;
	return isol_err_set(err, -EOPNOTSUPP,
			    "cannot delete the conntrack entries of %s: %s (is the "
			    "nf_conntrack_netlink module loaded?)",
			    tname, strerror(e));
}

static int report(const struct kill_run *k, int rc, const char *tname, struct isol_err *err)
{
	int e = -rc;

	if (k->del_errno != 0)
		return isol_err_set(err, -k->del_errno,
				    "deleting the conntrack entries of %s: %s (%u deleted)", tname,
				    strerror(k->del_errno), k->deleted);
	if (e == EPERM || k->refused == EPERM)
		return isol_err_set(err, -EPERM,
				    "cannot delete the conntrack entries of %s: %s (needs "
				    "CAP_NET_ADMIN in this network namespace)",
				    tname, strerror(EPERM));
	if (e == EINVAL || e == EOPNOTSUPP || e == EPROTONOSUPPORT)
		return no_ctnetlink(e, tname, err);
	if (e != 0)
		return isol_err_set(err, rc,
				    "cannot list the conntrack entries of %s: %s (%u deleted)",
				    tname, strerror(e), k->deleted);
	if (k->refused != 0)
		return isol_err_set(err, -k->refused,
				    "deleted %u of %u conntrack entries of %s; the kernel refused "
				    "others: %s",
				    k->deleted, k->matched, tname, strerror(k->refused));
	if (k->out_of_time)
		return isol_err_set(err, -ETIMEDOUT,
				    "deleted %u conntrack entries of %s (%u examined), then "
				    "stopped at the time limit (%d ms); %ld entries remain in "
				    "this namespace",
				    k->deleted, tname, k->scanned, CONNTRACK_KILL_BUDGET_MS,
				    conntrack_count());
	return (int)k->deleted;
}

int conntrack_kill(const struct isol_target *t, struct isol_err *err)
{
	struct kill_run k = {.t = t};
	struct mnl_socket *dump;
	char tname[ISOL_TARGET_STRLEN], *mem;
	uint32_t seq = (uint32_t)time(NULL);
	int rc;

	isol_target_format(t, tname, sizeof(tname));
	k.deadline = now_ns() + (uint64_t)CONNTRACK_KILL_BUDGET_MS * 1000000u;

	dump = ct_socket_open();
	if (dump == NULL) {
		if (errno == EPROTONOSUPPORT)
			return no_ctnetlink(errno, tname, err);
		return isol_err_set(err, -errno, "cannot open a conntrack netlink socket: %s",
				    strerror(errno));
	}
	k.del = ct_socket_open();
	/* the batch may overrun its limit by one request: twice the room */
	mem = malloc(DUMP_BUF_SIZE + 2 * BATCH_LIMIT + ACK_BUF_SIZE);
	if (k.del == NULL || mem == NULL) {
		rc = isol_err_set(err, -errno, "cannot delete the conntrack entries of %s: %s",
				  tname, strerror(errno));
		goto out_close;
	}
	k.dump_buf = mem;
	k.batch = mnl_nlmsg_batch_start(mem + DUMP_BUF_SIZE, BATCH_LIMIT);
	k.ack_buf = mem + DUMP_BUF_SIZE + 2 * BATCH_LIMIT;
	if (k.batch == NULL) {
		rc = isol_err_set(err, -ENOMEM, "out of memory");
		goto out_close;
	}

	rc = run_dump(&k, dump, seq, true);
	if ((rc == -EINVAL || rc == -EOPNOTSUPP) && k.scanned == 0 && k.del_errno == 0)
		rc = run_dump(&k, dump, seq + 1, false); /* a kernel that rejects CTA_FILTER */
	if (rc == 0 && k.del_errno == 0) {
		k.del_errno = -flush_deletes(&k);
		if (k.del_errno != 0)
			rc = -k.del_errno;
	}
	rc = report(&k, rc, tname, err);
	mnl_nlmsg_batch_stop(k.batch);
out_close:
	free(mem);
	if (k.del != NULL)
		mnl_socket_close(k.del);
	mnl_socket_close(dump);
	return rc;
}
