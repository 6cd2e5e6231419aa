#!/usr/bin/env python3
"""fake_agent.py - a stand-in for isolagent on a unix socket, for testing isolctl.

Speaks docs/PROTOCOL.md (newline-delimited JSON) with an in-memory set of
actions and no kernel. Good enough to drive every isolctl verb; not a model of
the agent's real checks.

  tests/tools/fake_agent.py --socket /tmp/x.sock [--log FILE] [--behave MODE]

--log FILE      append every request line received (for asserting what was sent)
--behave MODE   normal (default); garbage: answer "not json"; nook: answer {}
                close: close without answering; silent: never answer;
                nonl: answer without the newline, then close
--actions N     start with N actions (ids 1..N) for list/rollback tests
"""
import argparse
import ipaddress
import json
import os
import shlex
import socketserver
import sys
import threading
import time

VERSION = "0.1.0-fake"
LOCK = threading.Lock()
STATE = {"actions": [], "next_id": 1, "started": time.time()}


def now_ms():
    return int(time.time() * 1000)


def err(code, msg):
    return {"ok": False, "error": {"code": code, "message": msg}}


def parse_dur(s):
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
    total, num, i = 0, "", 0
    while i < len(s):
        if s[i].isdigit():
            num += s[i]
            i += 1
            continue
        u = "ms" if s.startswith("ms", i) else s[i]
        if u not in units or not num:
            raise ValueError("bad duration '%s'" % s)
        total += int(num) * units[u]
        num = ""
        i += len(u)
    if num or total <= 0:
        raise ValueError("bad duration '%s'" % s)
    return total


def canon(target):
    """Good enough: add /tcp when a port is given without a protocol."""
    t = target
    has_proto = t.endswith(("/tcp", "/udp", "/sctp"))
    base = t.rsplit("/", 1)[0] if has_proto else t
    if base.startswith("["):
        has_port = "]:" in base
    else:
        has_port = base.count(":") == 1
    if has_port and not has_proto:
        t += "/tcp"
    return t


def host_of(target):
    t = target
    if t.startswith("["):
        return t[1:t.index("]")].split("/")[0]
    if t.count(":") == 1:
        t = t.split(":")[0]
    return t.split("/")[0]


def protected(target, ssh_peer):
    try:
        ip = ipaddress.ip_address(host_of(target))
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    return ssh_peer is not None and host_of(target) == ssh_peer


def make_action(req, origin, peer):
    a = {
        "id": STATE["next_id"],
        "kind": "isolate",
        "target": canon(req["target"]),
        "direction": req.get("direction", "out"),
        "mode": req.get("mode", "reject"),
        "created_ms": now_ms(),
        "expires_ms": now_ms() + req["ttl_ms"] if req.get("ttl_ms") else 0,
        "ttl_ms": req.get("ttl_ms", 0),
        "origin": origin,
        "reason": req.get("reason", ""),
        "actor": {"uid": peer[0], "pid": peer[1], "comm": "isolctl"},
        "packets": 0,
        "bytes": 0,
    }
    return a


def change_line(a):
    return "add element inet isol iso4 { %s timeout %dms }" % (a["target"], a["ttl_ms"] or 0)


def handle(req, peer):
    if not isinstance(req, dict) or req.get("v") != 1:
        return err("invalid", "request must be an object with \"v\":1")
    op = req.get("op")
    acts = STATE["actions"]
    if op == "version":
        return {"ok": True, "version": VERSION, "protocol": 1}
    if op == "status":
        return {"ok": True, "version": VERSION, "pid": os.getpid(),
                "uptime_ms": int((time.time() - STATE["started"]) * 1000),
                "actions": len(acts), "table": "inet isol", "owner": True,
                "persist": False, "state_dir": "/tmp/fake", "journal_bytes": 1234,
                "batch_us_p50": 42}
    if op == "list":
        return {"ok": True, "actions": acts, "now_ms": now_ms()}
    if op == "show":
        for a in acts:
            if a["id"] == req.get("id"):
                return {"ok": True, "action": a}
        return err("not_found", "no action %s" % req.get("id"))
    if op == "isolate":
        if not isinstance(req.get("target"), str):
            return err("invalid", "missing field 'target'")
        if protected(req["target"], req.get("ssh_peer")) and not req.get("force"):
            return err("protected", "%s is protected (loopback)" % req["target"])
        for a in acts:
            if a["target"] == canon(req["target"]):
                return err("exists", "%s is already isolated (id %d)" % (a["target"], a["id"]))
        a = make_action(req, "cli", peer)
        if req.get("dry_run"):
            return {"ok": True, "action": a, "changes": [change_line(a)]}
        STATE["next_id"] += 1
        acts.append(a)
        return {"ok": True, "action": a}
    if op in ("restore", "rollback"):
        if "id" in req:
            sel = [a for a in acts if a["id"] == req["id"]]
        elif "target" in req:
            sel = [a for a in acts if a["target"] == req["target"]]
        elif req.get("last"):
            sel = acts[-1:]
        elif req.get("all"):
            sel = list(acts)
        else:
            return err("invalid", "rollback needs id, last or all")
        if not sel:
            return err("not_found", "nothing matches")
        if not req.get("dry_run"):
            for a in sel:
                acts.remove(a)
        return {"ok": True, "removed": sel}
    if op == "apply":
        lines = req.get("lines")
        if not isinstance(lines, list):
            return err("invalid", "missing field 'lines'")
        src = req.get("source", "apply")
        new = []
        for i, line in enumerate(lines, 1):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if words[0] != "isolate" or len(words) < 2:
                return err("invalid", "%s:%d: bad line" % (src, i))
            r = {"target": words[1]}
            j = 2
            while j < len(words):
                w = words[j]
                if w == "--force":
                    r["force"] = True
                elif w in ("--ttl", "--reason", "--direction", "--mode") and j + 1 < len(words):
                    j += 1
                    key = w[2:]
                    r["ttl_ms" if key == "ttl" else key] = (
                        parse_dur(words[j]) if key == "ttl" else words[j])
                else:
                    return err("invalid", "%s:%d: unknown option '%s'" % (src, i, w))
                j += 1
            if protected(r["target"], req.get("ssh_peer")) and not (r.get("force") or req.get("force")):
                return err("protected", "%s:%d: %s is protected" % (src, i, r["target"]))
            a = make_action(r, "apply", peer)
            STATE["next_id"] += 1
            new.append(a)
        if req.get("dry_run"):
            STATE["next_id"] -= len(new)
            return {"ok": True, "count": len(new), "changes": [change_line(a) for a in new[:50]]}
        acts.extend(new)
        first = new[0]["id"] if new else 0
        last = new[-1]["id"] if new else 0
        return {"ok": True, "count": len(new), "first_id": first, "last_id": last}
    return err("invalid", "unknown op '%s'" % op)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        srv = self.server
        creds = self.request.getsockopt(__import__("socket").SOL_SOCKET,
                                        __import__("socket").SO_PEERCRED, 12)
        pid, uid, _gid = int.from_bytes(creds[0:4], "little"), \
            int.from_bytes(creds[4:8], "little"), int.from_bytes(creds[8:12], "little")
        for raw in self.rfile:
            if srv.log:
                with open(srv.log, "ab") as f:
                    f.write(raw if raw.endswith(b"\n") else raw + b"\n")
            mode = srv.behave
            if mode == "close":
                return
            if mode == "silent":
                time.sleep(3600)
                return
            if mode == "garbage":
                self.wfile.write(b"not json\n")
                continue
            if mode == "nook":
                self.wfile.write(b"{}\n")
                continue
            try:
                req = json.loads(raw)
            except ValueError as e:
                resp = err("invalid", "bad JSON: %s" % e)
            else:
                with LOCK:
                    resp = handle(req, (uid, pid))
            out = json.dumps(resp, separators=(",", ":")).encode()
            if mode == "nonl":
                self.wfile.write(out)
                return
            self.wfile.write(out + b"\n")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log")
    ap.add_argument("--behave", default="normal",
                    choices=["normal", "garbage", "nook", "close", "silent", "nonl"])
    ap.add_argument("--actions", type=int, default=0)
    args = ap.parse_args()
    for _ in range(args.actions):
        a = make_action({"target": "10.%d.%d.%d:5672" % (
            STATE["next_id"] >> 16 & 255, STATE["next_id"] >> 8 & 255, STATE["next_id"] & 255),
            "ttl_ms": 3600000, "reason": "bulk"}, "apply", (0, 1))
        STATE["next_id"] += 1
        STATE["actions"].append(a)
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    srv = Server(args.socket, Handler)
    srv.log = args.log
    srv.behave = args.behave
    print("fake_agent: listening on %s" % args.socket, file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        os.unlink(args.socket)


if __name__ == "__main__":
    main()
