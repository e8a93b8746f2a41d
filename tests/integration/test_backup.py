"""Backups, the security side: encrypted by default with a key created on first use, restore
refusing anything the key does not authenticate (a planted plaintext database or dump), no
plaintext left behind when a backup is interrupted, pg_dump/pg_restore given no HERALD_*
secret and every parameter of the database URL, and HERALD_DATABASE_URL_FILE."""
import glob
import os
import signal
import sqlite3
import stat
import subprocess
import time

import pytest

from harness import HERALD_BIN


def count_events(h):
    r = h.get("/api/database/performance", key=h.admin_key).json()
    return {t["name"]: t["rows"] for t in r["performance"]["tables"]}["event_source"]


def gen(h, n, prefix="b"):
    events = [{"platform": "herald", "campaignId": "bk", "eventType": "sent",
               "email": f"{prefix}{i}@example.com"} for i in range(n)]
    assert h.post("/api/event-keys/generate", {"events": events},
                  key=h.admin_key).json()["created"] == n


def plaintext_copy(h, dest):
    """What an attacker could plant: a plain copy of some Herald database of this backend."""
    if h.backend == "sqlite":
        src = sqlite3.connect(h.db_url[len("sqlite:"):])
        out = sqlite3.connect(dest)
        src.backup(out)
        out.close()
        src.close()
    else:
        subprocess.run(["pg_dump", "--format=custom", f"--file={dest}", h.db_url], check=True)


def test_backup_is_encrypted_by_default_and_creates_its_key(make_herald, workdir):
    h = make_herald()
    path = os.path.join(workdir, "first.hbk")
    res = h.cli("backup", path)
    keyfile = os.path.join(workdir, "data", "backup.key")
    assert os.path.exists(keyfile), res.stderr
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert "created the backup key ./data/backup.key" in res.stderr
    assert "without it no backup can be restored" in res.stderr
    with open(path, "rb") as f:
        assert f.read(8) == b"HRLDENC1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # The second backup uses the same key and says nothing about creating one.
    key = open(keyfile).read()
    res = h.cli("backup", os.path.join(workdir, "second.hbk"))
    assert "created" not in res.stderr and open(keyfile).read() == key
    # Only ciphertext was ever written beside the destination; no private directory is left.
    assert [n for n in os.listdir(workdir) if n.endswith(".partial") or "plain" in n] == []
    assert glob.glob(os.path.join(workdir, "data", "backups", ".herald-tmp-*")) == []
    h.cli("restore", path)


def test_restore_refuses_a_planted_plaintext_backup(make_herald, workdir):
    """With a key, a plaintext database holding someone else's admin key (or, on PostgreSQL,
    a custom dump whose SQL would run as the database user) must not be restored."""
    h = make_herald()
    h.cli("backup", os.path.join(workdir, "own.hbk"))  # creates the key
    attacker = make_herald(subdir="attacker")
    planted = os.path.join(workdir, "planted.bak")
    plaintext_copy(attacker, planted)
    res = h.cli("restore", planted, check=False)
    assert res.returncode == 1, res.stderr
    assert "not an encrypted Herald backup" in res.stderr
    # Also with --allow-plaintext: a key exists, so only authenticated backups go in.
    res = h.cli("restore", planted, "--allow-plaintext", check=False)
    assert res.returncode == 1 and "not an encrypted Herald backup" in res.stderr
    h.start()
    assert h.get("/api/jobs/status", key=h.admin_key).status_code == 200
    assert h.get("/api/jobs/status", key=attacker.admin_key).status_code == 401


def test_restore_without_a_key_needs_allow_plaintext(make_herald, workdir):
    h = make_herald()
    gen(h.start(), 3)
    h.stop()
    planted = os.path.join(workdir, "old.bak")
    plaintext_copy(h, planted)
    res = h.cli("restore", planted, check=False)
    assert res.returncode == 1 and "--allow-plaintext" in res.stderr
    h.cli("restore", planted, "--allow-plaintext")


def make_big(h, mib):
    """Fills the database with `mib` MiB of incompressible filler so a backup takes a while."""
    if h.backend == "sqlite":
        db = sqlite3.connect(h.db_url[len("sqlite:"):])
        db.execute("CREATE TABLE filler (b BLOB)")
        for _ in range(mib):
            db.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(64 * 1024),)] * 16)
        db.commit()
        db.close()
    else:
        h.pg.psql("CREATE TABLE filler AS SELECT i, (SELECT string_agg(md5(random()::text || i || g), '')"
                  f" FROM generate_series(1, 32) g) AS t FROM generate_series(1, {mib * 1024}) i",
                  db=h.db_url.rsplit("/", 1)[1])


def plaintext_files(root, live_db):
    """Files under root that are a plain SQLite database or pg_dump archive (the live one
    aside)."""
    found = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.abspath(p) == os.path.abspath(live_db) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                head = f.read(16)
            if head.startswith(b"SQLite format 3") or head.startswith(b"PGDMP"):
                found.append(p)
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_backup_leaves_no_plaintext(make_herald, workdir, sig):
    h = make_herald(env={"HERALD_BACKUP_DIR": os.path.join(workdir, "backups")})
    make_big(h, 96)
    dest = os.path.join(workdir, "out", "interrupted.hbk")
    os.makedirs(os.path.dirname(dest))
    h.cli("backup", os.path.join(workdir, "out", "warm.hbk"))  # creates the key
    os.unlink(os.path.join(workdir, "out", "warm.hbk"))
    # Herald leaves alone a signal its parent ignores (nohup); a suite started in the
    # background by a non-interactive shell ignores SIGINT, so the child gets it back.
    proc = subprocess.Popen([HERALD_BIN, "backup", dest], env=h.env, cwd=workdir,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    deadline = time.time() + 30
    seen = False
    while time.time() < deadline and proc.poll() is None:
        plain = glob.glob(os.path.join(workdir, "backups", ".herald-tmp-*", "db")) + \
            glob.glob(os.path.join(workdir, "out", "*.plain.partial"))
        if plain and os.path.getsize(plain[0]) > 0:
            seen = True
            break
        time.sleep(0.005)
    assert seen, "never saw the backup under way"
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    live = h.db_url[len("sqlite:"):] if h.backend == "sqlite" else "-"
    time.sleep(0.3)  # a pg_dump child dies with its parent
    assert plaintext_files(workdir, live) == []
    assert glob.glob(os.path.join(workdir, "backups", ".herald-tmp-*")) == []
    assert os.listdir(os.path.join(workdir, "out")) == []


def test_database_url_file(make_herald, workdir):
    h = make_herald()
    url_file = os.path.join(workdir, "db-url")
    with open(url_file, "w") as f:
        f.write(h.db_url + "\n")
    env = {"HERALD_DATABASE_URL": "sqlite:/nonexistent/dir/x.db",
           "HERALD_DATABASE_URL_FILE": url_file}
    assert "pending" not in h.cli("migrate", "status", env=env).stdout
    h.cli("backup", os.path.join(workdir, "viafile.hbk"), env=env)


@pytest.fixture
def pg_tool_spy(workdir):
    """pg_dump and pg_restore wrappers that record their environment and arguments."""
    bindir = os.path.join(workdir, "spybin")
    os.makedirs(bindir)
    for tool in ("pg_dump", "pg_restore"):
        real = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True,
                              text=True).stdout.strip()
        with open(os.path.join(bindir, tool), "w") as f:
            f.write(f"#!/bin/sh\nenv > {workdir}/{tool}.env\n"
                    f"printf '%s\\n' \"$@\" > {workdir}/{tool}.args\nexec {real} \"$@\"\n")
        os.chmod(os.path.join(bindir, tool), 0o755)
    return bindir


def test_pg_tools_get_no_secrets_and_keep_url_parameters(make_herald, workdir, pg_tool_spy):
    h = make_herald()
    if h.backend != "postgres":
        pytest.skip("pg_dump/pg_restore run only for PostgreSQL")
    # Trust authentication ignores the password; it must still travel only in PGPASSWORD.
    url = h.db_url.replace("postgres://postgres@", "postgres://postgres:pw-s3cret@")
    url += "?sslmode=disable&connect_timeout=7&application_name=herald-bk"
    env = {"HERALD_DATABASE_URL": url, "PATH": pg_tool_spy + ":" + os.environ["PATH"],
           "HERALD_LEMLIST_API_KEY": "lemlist-secret-value", "HERALD_METRICS_TOKEN": "tok-secret",
           "PGAPPNAME": "kept-from-operator"}
    path = os.path.join(workdir, "spy.hbk")
    h.cli("backup", path, env=env)
    h.cli("restore", path, env=env)
    for tool in ("pg_dump", "pg_restore"):
        tenv = open(os.path.join(workdir, f"{tool}.env")).read()
        args = open(os.path.join(workdir, f"{tool}.args")).read()
        assert "HERALD_" not in tenv, tenv
        assert "lemlist-secret-value" not in tenv and "tok-secret" not in tenv
        assert "PGPASSWORD=pw-s3cret" in tenv
        assert "PGAPPNAME=kept-from-operator" in tenv
        assert "pw-s3cret" not in args
        assert "sslmode='disable'" in args and "connect_timeout='7'" in args, args
        assert "application_name='herald-bk'" in args
