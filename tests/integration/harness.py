"""Starts real servers for the black-box suite: a private PostgreSQL cluster (unless
HERALD_TEST_PG_URL names one) and Herald processes on either backend."""
import base64
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid

import requests

HERALD_BIN = os.environ.get("HERALD_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "herald")
SANITIZED = os.environ.get("HERALD_SANITIZED") == "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """initdb + pg_ctl in a temp dir; as root the server runs as the postgres user."""

    def __init__(self):
        self.url_base = os.environ.get("HERALD_TEST_PG_URL")
        self.dir = None
        self.port = None
        self.run_as = None

    def _cmd(self, args):
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--"] + args
        return args

    def start(self):
        if self.url_base:
            return
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found: install postgresql")
        self.bindir = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="herald-pg-")
        if os.getuid() == 0:
            self.run_as = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        subprocess.run(self._cmd([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U",
                                  "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The port is picked before the server binds it, so a parallel test worker may take it
        # in between: then try another.
        for attempt in range(5):
            self.port = free_port()
            try:
                self.pg_ctl("start")
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
        self.url_base = f"postgres://postgres@127.0.0.1:{self.port}"

    def pg_ctl(self, action, extra=()):
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c max_connections=300 -c synchronous_commit=on")
        args = [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-l",
                os.path.join(self.dir, "log"), "-o", opts, action, *extra]
        if action == "stop":
            args += ["-m", "fast"]
        subprocess.run(self._cmd(args), check=True, stdout=subprocess.DEVNULL)

    def restart(self):
        self.pg_ctl("stop")
        self.pg_ctl("start")

    def stop(self):
        if self.dir:
            try:
                self.pg_ctl("stop")
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, db="postgres"):
        out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              f"{self.url_base}/{db}", "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def new_database(self):
        name = "herald_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name}")
        return f"{self.url_base}/{name}"


class Herald:
    """One Herald instance (database + configuration); start() runs `herald serve`."""

    def __init__(self, backend, workdir, pg=None, env=None):
        self.backend = backend
        self.workdir = workdir
        self.pg = pg
        if backend == "sqlite":
            self.db_url = f"sqlite:{workdir}/data/herald.db"
        else:
            self.db_url = pg.new_database()
        self.env = dict(os.environ)
        self.env.update({
            "HERALD_DATABASE_URL": self.db_url,
            "HERALD_LISTEN": "127.0.0.1:0",
            "HERALD_LOG_LEVEL": "info",
            "HERALD_ENV_FILE": os.path.join(workdir, "no.env"),
            "HERALD_RATE_LIMIT": "100000/min",
            "HERALD_RATE_LIMIT_IP": "100000/min",
            "HERALD_RATE_LIMIT_IP_KEYED": "10000000/s",  # benchmarks send from one IP
            "HERALD_DB_POOL_MIN": "1",
            "HERALD_DB_POOL_MAX": "10",
            "HERALD_SYNC_SCHEDULE": "off",  # tests that want it turn it on
            "HERALD_ALLOW_INSECURE_UPSTREAM": "true",  # the fakes serve http://127.0.0.1
        })
        if SANITIZED:
            self.env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=86"
            self.env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        self.env.update(env or {})
        self.proc = None
        self.port = None
        self.admin_key = None
        self.log_path = None
        self.starts = 0

    # ---- command line ----
    def cli(self, *args, env=None, check=True, input=None):
        e = dict(self.env)
        e.update(env or {})
        res = subprocess.run([HERALD_BIN, *args], env=e, cwd=self.workdir, capture_output=True,
                             text=True, timeout=120, input=input)
        if check and res.returncode != 0:
            raise AssertionError(f"herald {' '.join(args)} failed ({res.returncode}): "
                                 f"{res.stderr}")
        if SANITIZED:
            assert "Sanitizer" not in res.stderr, res.stderr
        return res

    def migrate(self):
        self.cli("migrate", "up")

    def create_key(self, name="test", scopes=None, rate=None):
        args = ["keys", "create", "--name", name]
        if scopes:
            args += ["--scopes", scopes]
        if rate:
            args += ["--rate-limit", rate]
        res = self.cli(*args)
        secret = res.stdout.splitlines()[0]
        key_id = [l.split(": ", 1)[1] for l in res.stderr.splitlines() if l.startswith("id: ")][0]
        return secret, key_id

    # ---- server ----
    def start(self, env=None, expect_fail=False):
        e = dict(self.env)
        e.update(env or {})
        self.starts += 1
        self.log_path = os.path.join(self.workdir, f"serve-{self.starts}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([HERALD_BIN, "serve"], env=e, cwd=self.workdir,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                if expect_fail:
                    return self.proc.returncode
                raise AssertionError(f"herald serve exited: {self.read_log()}")
            for line in self.read_log().splitlines():
                if '"msg":"listening"' in line:
                    self.port = json.loads(line)["port"]
                    self.scheme = "https" if json.loads(line)["tls"] else "http"
                    return self
            time.sleep(0.02)
        raise AssertionError("herald serve did not start: " + self.read_log())

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("herald did not stop on SIGTERM")
        self.log.close()
        self.proc = None
        if SANITIZED and sig != signal.SIGKILL:
            log = self.read_log()
            assert "Sanitizer" not in log and "runtime error" not in log, log
        return rc

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def request(self, method, path, key=None, **kw):
        headers = kw.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        kw.setdefault("timeout", 30)
        return requests.request(method, self.url + path, headers=headers, **kw)

    def get(self, path, key=None, **kw):
        return self.request("GET", path, key=key, **kw)

    def post(self, path, body=None, key=None, **kw):
        if body is not None:
            kw["json"] = body
        return self.request("POST", path, key=key, **kw)


FAKES = os.path.join(os.path.dirname(__file__), "..", "fakes")


class LemlistFake:
    """tests/fakes/lemlist.py as a subprocess, with its control endpoints."""

    def __init__(self, key="lemlist-test-key", campaigns=3, activities=250, envelope=False,
                 no_rate_limit=False):
        self.key = key
        args = ["/usr/bin/python3", os.path.join(FAKES, "lemlist.py"), "--key", key,
                "--campaigns", str(campaigns), "--activities", str(activities)]
        if envelope:
            args.append("--envelope")
        if no_rate_limit:
            args.append("--no-rate-limit")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + "/api"

    def faults(self, **kw):
        return requests.post(self.url + "/_faults", json=kw, timeout=10).json()

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=10).json()

    def info(self):
        return requests.get(self.url + "/_info", timeout=10).json()

    def expected(self, **params):
        return requests.get(self.url + "/_expected", params=params, timeout=30).json()

    def env(self):
        return {"HERALD_LEMLIST_API_KEY": self.key, "HERALD_LEMLIST_BASE_URL": self.base_url}

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class MixpanelFake:
    def __init__(self, token="mp-token", account=None, secret=None, project=None):
        args = ["/usr/bin/python3", os.path.join(FAKES, "mixpanel.py")]
        if account:
            args += ["--account", account, "--secret", secret, "--project", project]
            self._env = {"HERALD_MIXPANEL_SERVICE_ACCOUNT": account,
                         "HERALD_MIXPANEL_SECRET": secret, "HERALD_MIXPANEL_PROJECT_ID": project}
        else:
            args += ["--token", token]
            self._env = {"HERALD_MIXPANEL_TOKEN": token}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def env(self, **extra):
        e = dict(self._env, HERALD_MIXPANEL_BASE_URL=self.url, HERALD_MIXPANEL_BACKOFF_MS="50",
                 HERALD_MIXPANEL_GRACE_MS="200")
        e.update(extra)
        return e

    def faults(self, **kw):
        return requests.post(self.url + "/_faults", json=kw, timeout=10).json()

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=30).json()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class SmartleadFake(LemlistFake):
    def __init__(self, key="smartlead-test-key", campaigns=3, rows=1500, odd_ids=False):
        self.key = key
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(FAKES, "smartlead.py"),
                                      "--key", key, "--campaigns", str(campaigns), "--rows",
                                      str(rows)] + (["--odd-ids"] if odd_ids else []),
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + "/api/v1"

    def env(self):
        return {"HERALD_SMARTLEAD_API_KEY": self.key, "HERALD_SMARTLEAD_BASE_URL": self.base_url}


class S3Fake:
    """tests/fakes/s3.py: an S3-compatible store that checks SigV4 itself."""

    def __init__(self, workdir, access_key="AKIDHERALDTEST", secret_key="herald-test-secret",
                 region="eu-test-1", bucket="herald", prefix="backups/node1"):
        self.access_key, self.secret_key = access_key, secret_key
        self.region, self.bucket, self.prefix = region, bucket, prefix
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(FAKES, "s3.py"), "--access-key", access_key,
             "--secret-key", secret_key, "--region", region, "--bucket", bucket],
            stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.ak_file = os.path.join(workdir, "s3-access-key")
        self.sk_file = os.path.join(workdir, "s3-secret-key")
        for path, value in ((self.ak_file, access_key), (self.sk_file, secret_key)):
            with open(path, "w") as f:
                f.write(value + "\n")
            os.chmod(path, 0o600)

    def env(self, **extra):
        e = {"HERALD_BACKUP_S3_URL": f"{self.url}/{self.bucket}/{self.prefix}",
             "HERALD_BACKUP_S3_REGION": self.region,
             "HERALD_BACKUP_S3_ACCESS_KEY_FILE": self.ak_file,
             "HERALD_BACKUP_S3_SECRET_KEY_FILE": self.sk_file}
        e.update(extra)
        return e

    def ref(self, name):
        return f"s3://{self.bucket}/{self.prefix}/{name}"

    def faults(self, **kw):
        return requests.post(self.url + "/_faults", json=kw, timeout=10).json()

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=10).json()

    def objects(self):
        """Names under the prefix, with their sizes."""
        p = f"{self.bucket}/{self.prefix}/"
        return {k[len(p):]: v for k, v in self.stats()["objects"].items() if k.startswith(p)}

    def put_raw(self, name, data=b"x"):
        import base64
        requests.post(self.url + "/_objects", timeout=10, json={
            "key": f"{self.bucket}/{self.prefix}/{name}",
            "data_b64": base64.b64encode(data).decode()}).raise_for_status()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class SmtpFake:
    """tests/fakes/smtp.py: an aiosmtpd receiver recording every message, with faults
    switched at runtime (see the fake's docstring for the control API)."""

    def __init__(self, user=None, password=None):
        args = ["/usr/bin/python3", os.path.join(FAKES, "smtp.py")]
        if user:
            args += ["--user", user, "--password", password]
        self.user, self.password = user, password
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        parts = self.proc.stdout.readline().split()
        self.port, self.http_port = int(parts[1]), int(parts[2])
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.smtp_url = f"smtp://127.0.0.1:{self.port}"

    def env(self, **extra):
        """The HERALD_SMTP_* variables that point Herald at this receiver (no TLS: the fake
        offers no STARTTLS)."""
        e = {"HERALD_SMTP_URL": self.smtp_url, "HERALD_SMTP_STARTTLS": "off",
             "HERALD_SMTP_TIMEOUT_MS": "5000"}
        if self.user:
            e.update(HERALD_SMTP_USER=self.user, HERALD_SMTP_PASSWORD=self.password)
        e.update(extra)
        return e

    def faults(self, **kw):
        """rcpt={"a@b.c": {"code": 550, "times": None}}, data_code=451, data_count=2,
        mail_code/mail_count, drop=N, drop_rcpt=N, delay_ms=M, reset=True."""
        r = requests.post(self.url + "/_faults", json=kw, timeout=10)
        r.raise_for_status()
        return r.json()

    def messages(self, since=0):
        """Accepted messages, oldest first: dicts with mail_from, rcpt_tos, raw (bytes),
        received_ms, index, session (one id per SMTP connection)."""
        r = requests.get(self.url + "/_messages", params={"since": since}, timeout=30)
        r.raise_for_status()
        out = r.json()
        for m in out:
            m["raw"] = base64.b64decode(m.pop("raw_b64"))
        return out

    def wait_messages(self, n, timeout=30):
        """Waits until at least n messages were accepted; returns them all."""
        deadline = time.time() + timeout
        while True:
            msgs = self.messages()
            if len(msgs) >= n or time.time() > deadline:
                return msgs
            time.sleep(0.1)

    def attempts(self):
        """Every RCPT attempt in order: [{"rcpt", "code"}]."""
        return requests.get(self.url + "/_attempts", timeout=10).json()

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=10).json()

    def clear(self):
        requests.delete(self.url + "/_messages", timeout=10).raise_for_status()

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def dkim_keys(h, domain="herald.test", ed25519=True):
    """Makes DKIM keys with `herald dkim keygen` in h.workdir. Returns (env, dns_records): the
    HERALD_DKIM_* variables for h.start(env=...) and the TXT records for verify_dkim()."""
    env, dns = {}, {}
    kinds = [("rsa", "hr", "HERALD_DKIM_KEY_FILE", "HERALD_DKIM_SELECTOR")]
    if ed25519:
        kinds.append(("ed25519", "he", "HERALD_DKIM_ED25519_KEY_FILE",
                      "HERALD_DKIM_ED25519_SELECTOR"))
    for kind, selector, key_var, sel_var in kinds:
        path = os.path.join(h.workdir, f"dkim-{selector}.pem")
        if not os.path.exists(path):
            res = h.cli("dkim", "keygen", "--domain", domain, "--selector", selector, "--type",
                        kind, "--out", path)
            name, value = parse_dkim_keygen(res.stdout)
            with open(path + ".txt", "w") as f:
                f.write(value)
        with open(path + ".txt") as f:
            dns[f"{selector}._domainkey.{domain}"] = f.read()
        env.update({key_var: path, sel_var: selector, "HERALD_DKIM_DOMAIN": domain})
    return env, dns


def dkim_signatures(raw, dns_records):
    """Verifies every DKIM-Signature of `raw` (bytes) with dkimpy, never with Herald's code.
    dns_records maps a TXT name ("sel._domainkey.example.com", trailing dot optional) to its
    value ("v=DKIM1; k=rsa; p=..."; a list of strings is joined). Returns one dict per
    signature: {"a": algorithm, "d", "s", "ok": bool}."""
    import dkim
    records = {}
    for name, value in dns_records.items():
        if isinstance(value, (list, tuple)):
            value = "".join(value)
        records[name.rstrip(".").lower()] = value.encode() if isinstance(value, str) else value

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.rstrip(".").lower())

    d = dkim.DKIM(raw)
    out = []
    for idx, (hname, hvalue) in enumerate(h for h in d.headers
                                          if h[0].lower() == b"dkim-signature"):
        tags = dkim.util.parse_tag_value(b"".join(hvalue.split()))
        try:
            ok = dkim.DKIM(raw).verify(idx=idx, dnsfunc=dnsfunc)
        except Exception:  # dkimpy raises on some bad signatures (Ed25519) instead of False
            ok = False
        out.append({"a": tags.get(b"a", b"").decode(), "d": tags.get(b"d", b"").decode(),
                    "s": tags.get(b"s", b"").decode(), "ok": bool(ok)})
    return out


def verify_dkim(raw, dns_records):
    """True when `raw` carries at least one DKIM-Signature and dkimpy verifies every one."""
    sigs = dkim_signatures(raw, dns_records)
    return bool(sigs) and all(s["ok"] for s in sigs)


def parse_dkim_keygen(stdout):
    """The (TXT name, TXT value) that `herald dkim keygen` printed: the name on a line
    `name: …`, the value as the concatenation of the quoted strings on the `value:` line."""
    import re
    name = value = None
    for line in stdout.splitlines():
        if line.startswith("name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("value:"):
            value = "".join(re.findall(r'"([^"]*)"', line))
    return name, value


class EventTableLock:
    """Holds event_source locked (SQLite: the whole database) so the writer, and the requests
    it serves, wait until release()."""

    def __init__(self, h):
        self.h = h
        if h.backend == "sqlite":
            self.conn = sqlite3.connect(h.db_url[len("sqlite:"):], timeout=10,
                                        isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")
        else:
            self.proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", h.db_url],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.proc.stdin.write("BEGIN;\nLOCK TABLE event_source IN ACCESS EXCLUSIVE MODE;\n"
                                  "\\echo locked\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "locked"

    def release(self):
        if self.h.backend == "sqlite":
            self.conn.execute("ROLLBACK")
            self.conn.close()
        else:
            self.proc.stdin.write("ROLLBACK;\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
