#!/usr/bin/python3
"""A stand-in for an S3-compatible object store, path-style (/BUCKET/KEY), written from AWS's
public documentation: PUT, GET, HEAD and DELETE object, ListObjectsV2
(GET /BUCKET?list-type=2&prefix=...&continuation-token=...), and Signature Version 4 checked
here from first principles (canonical request, string to sign, derived signing key): a wrong
secret answers 403 SignatureDoesNotMatch, a body that does not match x-amz-content-sha256 400
XAmzContentSHA256Mismatch.

Control (no signature): POST /_faults {"status": 500, "count": n} (the next n requests answer
that status; 503 answers SlowDown), {"delay_ms": ms} (every answer waits), {"max_keys": n}
(page size of listings); GET /_stats: requests by method, signature failures, objects with
their sizes; POST /_objects {"key": "bucket/key", "data_b64": "..."} puts an object unsigned
(old backups for retention tests).

usage: s3.py --access-key AK --secret-key SK [--region us-east-1] [--bucket herald]"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def aws_quote(s, keep_slash):
    return quote(s, safe="-_.~/" if keep_slash else "-_.~")


def canonical_request(method, raw_path, raw_query, headers, signed, payload_hash):
    uri = aws_quote(unquote(raw_path), True)
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    query = "&".join(f"{aws_quote(k, False)}={aws_quote(v, False)}"
                     for k, v in sorted(pairs))
    lines = []
    for name in signed:
        value = " ".join((headers.get(name) or "").split())
        lines.append(f"{name}:{value}\n")
    return "\n".join([method, uri, query, "".join(lines), ";".join(signed), payload_hash])


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def parse_authorization(value):
    if not value.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = {}
    for item in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = item.strip().partition("=")
        fields[k] = v
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body=b"", ctype="application/xml", extra=None):
        if self.server.st["faults"].get("delay_ms"):
            time.sleep(self.server.st["faults"]["delay_ms"] / 1000)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                f"<Message>{escape(message)}</Message></Error>").encode()
        self.send(status, body)

    def json_reply(self, status, obj):
        self.send(status, json.dumps(obj).encode(), "application/json")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Expect", "").lower() == "100-continue":
            pass  # http.server answers 100 itself before we read
        return self.rfile.read(n) if n else b""

    # ---- SigV4 ----
    def check_signature(self, body):
        """None when the request is signed correctly, else (status, code, message)."""
        st, args = self.server.st, self.server.args
        auth = parse_authorization(self.headers.get("Authorization", ""))
        if not auth:
            return 403, "AccessDenied", "missing or malformed SigV4 Authorization"
        cred = auth["Credential"].split("/")
        if len(cred) != 5 or cred[4] != "aws4_request" or cred[3] != "s3":
            return 403, "AuthorizationHeaderMalformed", "bad credential scope"
        akid, date, region = cred[0], cred[1], cred[2]
        if akid != args.access_key:
            return 403, "InvalidAccessKeyId", "unknown access key"
        if region != args.region:
            return 400, "AuthorizationHeaderMalformed", f"region must be {args.region}"
        amz_date = self.headers.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return 403, "AccessDenied", "missing x-amz-date"
        if not amz_date.startswith(date) or abs(
                (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900:
            return 403, "RequestTimeTooSkewed", "request time too far from ours"
        signed = auth["SignedHeaders"].split(";")
        if "host" not in signed or signed != sorted(signed):
            return 403, "AccessDenied", "host must be signed; headers in order"
        payload_hash = self.headers.get("x-amz-content-sha256")
        if payload_hash is None:
            return 400, "InvalidRequest", "missing x-amz-content-sha256"
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
            return 400, "XAmzContentSHA256Mismatch", "body does not match x-amz-content-sha256"
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        creq = canonical_request(self.command, url.path, url.query, headers, signed, payload_hash)
        scope = f"{date}/{region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(creq.encode()).hexdigest()])
        key = signing_key(args.secret_key, date, region, "s3")
        want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, auth["Signature"]):
            with st["lock"]:
                st["signature_failures"] += 1
            return 403, "SignatureDoesNotMatch", "the signature does not match"
        return None

    # ---- dispatch ----
    def control(self, body):
        st = self.server.st
        path = urlsplit(self.path).path
        if path == "/_faults" and self.command == "POST":
            with st["lock"]:
                st["faults"].update(json.loads(body or b"{}"))
                return self.json_reply(200, st["faults"])
        if path == "/_stats" and self.command == "GET":
            with st["lock"]:
                return self.json_reply(200, {
                    "requests": st["requests"], "signature_failures": st["signature_failures"],
                    "objects": {k: len(v) for k, v in st["objects"].items()}})
        if path == "/_objects" and self.command == "POST":
            req = json.loads(body)
            with st["lock"]:
                st["objects"][req["key"]] = base64.b64decode(req.get("data_b64", ""))
            return self.json_reply(200, {"ok": True})
        return self.json_reply(404, {"error": "not found"})

    def injected_fault(self):
        st = self.server.st
        with st["lock"]:
            f = st["faults"]
            if f.get("count", 0) > 0 and f.get("status"):
                f["count"] -= 1
                return f["status"]
        return None

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/_"):
            return self.control(body)
        st = self.server.st
        with st["lock"]:
            st["requests"][self.command] = st["requests"].get(self.command, 0) + 1
        status = self.injected_fault()
        if status == 503:
            return self.error(503, "SlowDown", "Please reduce your request rate.")
        if status:
            return self.error(status, "InternalError", "injected failure")
        problem = self.check_signature(body)
        if problem:
            return self.error(*problem)
        url = urlsplit(self.path)
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        if bucket != self.server.args.bucket:
            return self.error(404, "NoSuchBucket", "no such bucket")
        if not key:
            if self.command == "GET":
                return self.list_objects(bucket, dict(parse_qsl(url.query,
                                                                keep_blank_values=True)))
            return self.error(405, "MethodNotAllowed", "bucket operations are not supported")
        return self.object_op(f"{bucket}/{key}", body)

    def object_op(self, full, body):
        st = self.server.st
        with st["lock"]:
            if self.command == "PUT":
                st["objects"][full] = body
                etag = hashlib.md5(body).hexdigest()
                return self.send(200, b"", extra={"ETag": f'"{etag}"'})
            if self.command == "DELETE":
                st["objects"].pop(full, None)
                return self.send(204)
            data = st["objects"].get(full)
        if self.command in ("GET", "HEAD"):
            if data is None:
                return self.error(404, "NoSuchKey", "The specified key does not exist.")
            return self.send(200, data, "application/octet-stream")
        return self.error(405, "MethodNotAllowed", "not supported")

    def list_objects(self, bucket, q):
        if q.get("list-type") != "2":
            return self.error(400, "InvalidArgument", "only ListObjectsV2 is supported")
        st = self.server.st
        prefix = q.get("prefix", "")
        start = q.get("continuation-token", "")
        page = int(st["faults"].get("max_keys") or q.get("max-keys") or 1000)
        with st["lock"]:
            keys = sorted(k[len(bucket) + 1:] for k in st["objects"]
                          if k.startswith(bucket + "/"))
            sizes = {k: len(st["objects"][f"{bucket}/{k}"]) for k in keys}
        keys = [k for k in keys if k.startswith(prefix) and k > start]
        shown, more = keys[:page], len(keys) > page
        parts = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
                 f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>",
                 f"<KeyCount>{len(shown)}</KeyCount><MaxKeys>{page}</MaxKeys>",
                 f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
        if more:
            parts.append(f"<NextContinuationToken>{escape(shown[-1])}</NextContinuationToken>")
        for k in shown:
            parts.append(f"<Contents><Key>{escape(k)}</Key><Size>{sizes[k]}</Size>"
                         f"<StorageClass>STANDARD</StorageClass></Contents>")
        parts.append("</ListBucketResult>")
        self.send(200, "".join(parts).encode())

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--bucket", default="herald")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.args = args
    srv.st = {"lock": threading.Lock(), "faults": {}, "requests": {}, "signature_failures": 0,
              "objects": {}}
    print(f"listening {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
