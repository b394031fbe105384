#!/usr/bin/env python3
"""Summarise a schemathesis NDJSON report (st run --report ndjson) against the OpenAPI document.

    schemathesis-summary.py REPORT.ndjson OPENAPI.json

Prints, per operation, every status code the server answered and which of them the document
does not list; then every 5xx with its request and response body, every 429 (rate limits and
lock-outs, expected under fuzzing), and the failed checks grouped by kind. Reads only the
report; exits 0.
"""
import base64
import collections
import json
import re
import sys
from urllib.parse import urlsplit

report_path, openapi_path = sys.argv[1], sys.argv[2]
with open(openapi_path, encoding="utf-8") as f:
    openapi = json.load(f)

documented = {}
for path, item in openapi.get("paths", {}).items():
    for method, op in item.items():
        if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
            documented[f"{method.upper()} {path}"] = set(op.get("responses", {}).keys())
templates = [
    (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"), path)
    for path in sorted(openapi.get("paths", {}), key=lambda p: p.count("{"))
]


def operation_of(method, uri):
    """The documented operation a request went to (stateful scenarios mix operations)."""
    path = urlsplit(uri or "").path
    for regex, template in templates:
        if regex.match(path) and f"{method} {template}" in documented:
            return f"{method} {template}"
    return None


def body_text(blob, limit=400):
    if not blob:
        return ""
    if "$base64" in blob:
        raw = base64.b64decode(blob["$base64"])
    else:
        raw = blob.get("string", "").encode()
    text = raw.decode("utf-8", "replace").rstrip("\n")
    return text if len(text) <= limit else text[:limit] + "…"


def is_documented(status, codes):
    s = str(status)
    return s in codes or f"{s[0]}XX" in codes or f"{s[0]}xx" in codes or "default" in codes


statuses = collections.defaultdict(collections.Counter)  # operation -> status -> count
other_method = collections.defaultdict(collections.Counter)  # operation -> "METHOD status"
server_errors = []
rate_limited = collections.Counter()
failures = collections.defaultdict(dict)  # (code, title) -> {(operation, message): example}
examples = collections.defaultdict(list)  # (operation, status) -> sample requests
errors = collections.Counter()  # (operation, phase, error type, message) -> count

with open(report_path, encoding="utf-8") as f:
    for line in f:
        event = json.loads(line)
        error = event.get("NonFatalError")
        if error:
            value = error.get("value") or {}
            errors[(error.get("label", "?"), error.get("phase", "?"), value.get("type", "?"), value.get("message", ""))] += 1
            continue
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        label = recorder.get("label", "?")
        interactions = recorder.get("interactions") or {}
        for case_id, inter in interactions.items():
            req, resp = inter.get("request") or {}, inter.get("response")
            if not resp:
                continue
            method = req.get("method", "?")
            status = resp.get("status_code")
            operation = operation_of(method, req.get("uri"))
            if operation is None or (label in documented and operation != label):
                other_method[label][f"{method} {status}"] += 1
                continue
            label_of_request = operation
            statuses[label_of_request][status] += 1
            sample = {
                "uri": req.get("uri"),
                "body": body_text(req.get("body"), 300),
                "response": body_text(resp.get("content")),
            }
            if len(examples[(label_of_request, status)]) < 1:
                examples[(label_of_request, status)].append(sample)
            if status >= 500:
                server_errors.append((label_of_request, status, sample))
            if status == 429:
                rate_limited[label_of_request] += 1
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                info = (check.get("failure_info") or {}).get("failure") or {}
                key = (info.get("code", "?"), info.get("title", check.get("name")))
                message = (info.get("message") or "").strip().replace("\n", " | ")
                inter = interactions.get(case_id) or {}
                req = inter.get("request") or {}
                resp = inter.get("response") or {}
                failures[key].setdefault(
                    (info.get("operation", label), message[:300]),
                    {
                        "uri": req.get("uri"),
                        "method": req.get("method"),
                        "body": body_text(req.get("body"), 200),
                        "status": resp.get("status_code"),
                        "response": body_text(resp.get("content"), 200),
                    },
                )

print("== status codes per operation (* = not in the document)")
for label in sorted(statuses):
    codes = documented.get(label, set())
    parts = []
    for status, n in sorted(statuses[label].items()):
        mark = "" if is_documented(status, codes) else "*"
        parts.append(f"{status}{mark}×{n}")
    print(f"  {label}: {' '.join(parts)}   (documented: {', '.join(sorted(codes))})")

print("\n== undocumented status codes")
any_undocumented = False
for label in sorted(statuses):
    codes = documented.get(label, set())
    extra = sorted(s for s in statuses[label] if not is_documented(s, codes))
    if extra:
        any_undocumented = True
        print(f"  {label}: {', '.join(map(str, extra))}")
        for s in extra:
            ex = examples[(label, s)][0]
            path = urlsplit(ex["uri"]).path
            query = urlsplit(ex["uri"]).query
            print(f"      {s} e.g. {path}{'?' + query if query else ''} body={ex['body']!r} -> {ex['response']}")
if not any_undocumented:
    print("  none")

print("\n== 5xx server errors")
if not server_errors:
    print("  none")
seen = set()
for label, status, ex in server_errors:
    key = (label, status, ex["response"])
    if key in seen:
        continue
    seen.add(key)
    print(f"  {label} -> {status}\n      request {ex['uri']} body={ex['body']!r}\n      response {ex['response']}")

print("\n== errors (no answer: connection closed, timeouts, serialization; see the run's ERRORS section)")
if not errors:
    print("  none")
for (label, phase, kind, message), n in sorted(errors.items()):
    print(f"  {label} [{phase}] {kind}: {message[:300]}" + (f" (×{n})" if n > 1 else ""))

print("\n== 429 answers (rate limits / lock-outs; expected under fuzzing)")
if not rate_limited:
    print("  none")
for label, n in sorted(rate_limited.items()):
    print(f"  {label}: {n}")

print("\n== requests with another method (unsupported_method check) or outside the document")
for label in sorted(other_method):
    print(f"  {label}: {dict(other_method[label])}")

print("\n== failed checks by kind (one example per operation and message)")
if not failures:
    print("  none")
for (code, title), found in sorted(failures.items()):
    print(f"  {code} {title}")
    by_operation = collections.defaultdict(dict)
    for (operation, message), ex in found.items():
        # Drop schemathesis' hints and the generic "Expected: …" line; keep what differs.
        message = message.split(" | Hint:")[0]
        message = re.sub(r"^(Valid data should have been accepted|Invalid data should have been rejected) \| Expected: [^|]*(\| )?", "", message)
        current = by_operation[operation].get(message)
        if current is None or len(ex["body"]) < len(current["body"]):
            by_operation[operation][message] = ex
    for operation in sorted(by_operation):
        for message, ex in sorted(by_operation[operation].items()):
            print(f"    {operation}: {message or '(no detail)'}")
            print(f"        {ex['method']} {ex['uri']} body={ex['body']!r} -> {ex['status']} {ex['response']}")
