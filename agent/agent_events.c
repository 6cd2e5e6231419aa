/* agent_events.c - the events of the shared paths: actions applied,
 * removed and refused, escalations of actions that stay too long. Each
 * carries who did it (actor, origin) and what it concerned; a request of
 * 100,000 actions is one event that names the first few. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "isol/duration.h"
#include "isol/strbuf.h"
#include "log.h"

#define EVENT_ACTIONS_MAX 20 /* actions named in one event */
#define ESCALATE_INTERVAL 5.0 /* s between looks for actions to escalate, at most */

json_t *agent_actor_json(const struct isol_actor *a)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "uid", json_integer(a->uid));
	if (a->user[0])
		json_object_set_new(o, "user", json_string(a->user));
	if (a->pid > 0)
		json_object_set_new(o, "pid", json_integer(a->pid));
	if (a->comm[0])
		json_object_set_new(o, "comm", json_string(a->comm));
	return o;
}

/* "root via isolctl", "uid 1001 via isolctl", "the agent" (no process). */
static void actor_text(const struct isol_actor *a, const char *origin, char *buf, size_t len)
{
	char who[48];

	if (origin && strncmp(origin, "policy:", 7) == 0) {
		snprintf(buf, len, "%s", origin);
		return;
	}
	if (a->pid <= 0 && a->uid == 0 && a->user[0] == '\0') {
		snprintf(buf, len, "the agent");
		return;
	}
	if (a->user[0])
		snprintf(who, sizeof(who), "%s", a->user);
	else
		snprintf(who, sizeof(who), "uid %u", a->uid);
	if (a->comm[0])
		snprintf(buf, len, "%s via %s", who, a->comm);
	else
		snprintf(buf, len, "%s", who);
}

/* "actions":[...] of the first EVENT_ACTIONS_MAX, each the action object
 * of the protocol; a removal adds how long it stood. */
static void actions_members(struct isol_agent *ag, struct strbuf *sb,
			    struct isol_action *const *acts, size_t n, uint64_t now)
{
	size_t i;

	strbuf_puts(sb, "\"actions\":[");
	for (i = 0; i < n && i < EVENT_ACTIONS_MAX; i++) {
		if (i)
			strbuf_puts(sb, ",");
		action_write_json(sb, acts[i], ag->o.hosts_file);
		if (now) { /* "...}" -> "...,"duration_ms":N}" */
			sb->len--;
			strbuf_printf(sb, ",\"duration_ms\":%llu}",
				      (unsigned long long)(now > acts[i]->created_ms
								   ? now - acts[i]->created_ms
								   : 0));
		}
	}
	strbuf_puts(sb, "]");
}

/* "count":N,"origin":"..","actor":{..} */
static void request_members(struct strbuf *sb, size_t n, const struct agent_req *req)
{
	const struct isol_actor *a = &req->actor;

	strbuf_printf(sb, "\"count\":%zu,\"origin\":", n);
	strbuf_json_str(sb, req->origin ? req->origin : "");
	strbuf_printf(sb, ",\"actor\":{\"uid\":%u", a->uid);
	if (a->user[0]) {
		strbuf_puts(sb, ",\"user\":");
		strbuf_json_str(sb, a->user);
	}
	if (a->pid > 0)
		strbuf_printf(sb, ",\"pid\":%d", a->pid);
	if (a->comm[0]) {
		strbuf_puts(sb, ",\"comm\":");
		strbuf_json_str(sb, a->comm);
	}
	strbuf_puts(sb, "}");
}

void agent_event_applied(struct isol_agent *ag, struct isol_action *const *acts, size_t n,
			 const struct agent_req *req)
{
	char who[96], words[512];
	struct strbuf sb;

	if (n == 0 || ag->events == NULL)
		return;
	strbuf_init(&sb);
	request_members(&sb, n, req);
	strbuf_puts(&sb, ",");
	actions_members(ag, &sb, acts, n, 0);
	actor_text(&req->actor, req->origin, who, sizeof(who));
	if (sb.error == 0 && n == 1) {
		char to[64] = "";

		isol_spec_subject(&acts[0]->spec, words, sizeof(words));
		if (acts[0]->spec.kind == ISOL_KIND_STEER || acts[0]->spec.kind == ISOL_KIND_PIN) {
			strcpy(to, " to ");
			isol_spec_to_format(&acts[0]->spec, to + 4, sizeof(to) - 4);
		}
		events_emit_raw(ag->events, EVENT_APPLIED, sb.buf, sb.len, "%s %s%s (action %llu) by %s",
				agent_done_word(acts[0]->spec.kind), words, to,
				(unsigned long long)acts[0]->id, who);
	} else if (sb.error == 0) {
		events_emit_raw(ag->events, EVENT_APPLIED, sb.buf, sb.len,
				"%zu actions applied (%llu-%llu) by %s", n,
				(unsigned long long)acts[0]->id, (unsigned long long)acts[n - 1]->id,
				who);
	}
	strbuf_fini(&sb);
}

void agent_event_refused(struct isol_agent *ag, const char *op, const char *why,
			 struct isol_action *const *acts, size_t n, const struct agent_req *req)
{
	char who[96], words[512] = "";
	struct strbuf sb;
	size_t i, k = 0;

	if (ag->events == NULL)
		return;
	strbuf_init(&sb);
	request_members(&sb, n, req);
	strbuf_puts(&sb, ",\"op\":");
	strbuf_json_str(&sb, op);
	strbuf_puts(&sb, ",\"error\":");
	strbuf_json_str(&sb, why);
	strbuf_puts(&sb, ",\"targets\":[");
	for (i = 0; i < n && i < EVENT_ACTIONS_MAX; i++) {
		if (acts[i] == NULL)
			continue;
		isol_spec_subject(&acts[i]->spec, words, sizeof(words));
		strbuf_puts(&sb, k++ ? "," : "");
		strbuf_json_str(&sb, words);
	}
	strbuf_puts(&sb, "]");
	actor_text(&req->actor, req->origin, who, sizeof(who));
	if (sb.error == 0)
		events_emit_raw(ag->events, EVENT_REFUSED, sb.buf, sb.len, "%s%s%s refused for %s: %s",
				op, n == 1 && words[0] ? " " : "", n == 1 ? words : "", who, why);
	strbuf_fini(&sb);
}

/* "rolled back by root via isolctl", "expired", "lifted by policy:mq" */
static void how_text(const char *why, const char *who, char *buf, size_t len)
{
	if (strcmp(why, "expired") == 0)
		snprintf(buf, len, "expired");
	else if (strcmp(why, "rollback") == 0)
		snprintf(buf, len, "rolled back by %s", who);
	else if (strcmp(why, "restore") == 0)
		snprintf(buf, len, "restored by %s", who);
	else if (strcmp(why, "policy") == 0)
		snprintf(buf, len, "lifted by %s", who);
	else
		snprintf(buf, len, "removed (%s) by %s", why, who);
}

/* "; 40 packets stopped" (isolations), "; 12 packets steered", or nothing
 * when only pins and routes, which the kernel does not count for us. */
static const char *hits_text(struct isol_action *const *acts, size_t n, uint64_t packets,
			     char *buf, size_t len)
{
	bool isolate = false, steer = false;
	size_t i;

	for (i = 0; i < n; i++) {
		isolate |= acts[i]->spec.kind == ISOL_KIND_ISOLATE;
		steer |= acts[i]->spec.kind == ISOL_KIND_STEER;
	}
	if (!isolate && !steer)
		return "";
	snprintf(buf, len, "; %llu packets %s", (unsigned long long)packets,
		 isolate && steer ? "stopped or steered" : isolate ? "stopped" : "steered");
	return buf;
}

void agent_event_removed(struct isol_agent *ag, struct isol_action *const *acts, size_t n,
			 const char *why, const struct agent_req *req, uint64_t now)
{
	char who[96], how[128], hits[64], words[512], dur[32];
	uint64_t packets = 0;
	struct strbuf sb;
	size_t i;

	if (n == 0 || ag->events == NULL)
		return;
	for (i = 0; i < n; i++)
		packets += acts[i]->packets;
	strbuf_init(&sb);
	request_members(&sb, n, req);
	strbuf_puts(&sb, ",\"why\":");
	strbuf_json_str(&sb, why);
	strbuf_printf(&sb, ",\"packets\":%llu,", (unsigned long long)packets);
	actions_members(ag, &sb, acts, n, now);
	actor_text(&req->actor, req->origin, who, sizeof(who));
	how_text(why, who, how, sizeof(how));
	if (sb.error == 0 && n == 1) {
		isol_spec_subject(&acts[0]->spec, words, sizeof(words));
		isol_duration_format(now > acts[0]->created_ms ? now - acts[0]->created_ms : 0, dur,
				     sizeof(dur));
		events_emit_raw(ag->events, EVENT_REMOVED, sb.buf, sb.len,
				"action %llu (%s %s) %s after %s%s", (unsigned long long)acts[0]->id,
				isol_kind_name(acts[0]->spec.kind), words, how, dur,
				hits_text(acts, n, packets, hits, sizeof(hits)));
	} else if (sb.error == 0) {
		events_emit_raw(ag->events, EVENT_REMOVED, sb.buf, sb.len, "%zu actions %s%s", n, how,
				hits_text(acts, n, packets, hits, sizeof(hits)));
	}
	strbuf_fini(&sb);
}

/* --- escalation --------------------------------------------------------------- */

static void escalate_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct isol_agent *ag = w->data;
	uint64_t now = isol_now_ms(), after = ag->o.escalate_after_ms;
	struct isol_action *due[EVENT_ACTIONS_MAX], *a;
	char dur[32], words[512];
	struct strbuf sb;
	size_t n = 0;

	for (a = ag->actions.head; a; a = a->next) {
		if (a->escalated || now < a->created_ms + after)
			continue;
		a->escalated = true;
		if (n < EVENT_ACTIONS_MAX)
			due[n] = a;
		n++;
	}
	if (n == 0)
		return;
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"count\":%zu,\"after_ms\":%llu,", n, (unsigned long long)after);
	actions_members(ag, &sb, due, n < EVENT_ACTIONS_MAX ? n : EVENT_ACTIONS_MAX, 0);
	isol_duration_format(after, dur, sizeof(dur));
	if (sb.error == 0 && n == 1) {
		isol_spec_subject(&due[0]->spec, words, sizeof(words));
		events_emit_raw(ag->events, EVENT_ESCALATION, sb.buf, sb.len,
				"action %llu (%s %s, %s) is still in force after %s: is the incident "
				"over, or does it need a person?",
				(unsigned long long)due[0]->id, isol_kind_name(due[0]->spec.kind),
				words, due[0]->origin, dur);
	} else if (sb.error == 0) {
		events_emit_raw(ag->events, EVENT_ESCALATION, sb.buf, sb.len,
				"%zu actions are still in force after %s: is the incident over, or "
				"does it need a person?",
				n, dur);
	}
	strbuf_fini(&sb);
	log_warn("%zu action%s in force for more than %s", n, n == 1 ? "" : "s", dur);
}

void agent_escalation_start(struct isol_agent *ag)
{
	if (ag->o.escalate_after_ms == 0)
		return;
	double every = (double)ag->o.escalate_after_ms / 4000.0;

	/* a quarter of the delay, within [0.1 s, ESCALATE_INTERVAL] */
	every = every < 0.1 ? 0.1 : every > ESCALATE_INTERVAL ? ESCALATE_INTERVAL : every;
	ev_timer_init(&ag->escalate, escalate_cb, every, every);
	ag->escalate.data = ag;
	ev_timer_start(ag->loop, &ag->escalate);
}
