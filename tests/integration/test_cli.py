"""The command line: configuration errors, migrations, serve refusal, backup and restore."""
import os
import sqlite3

import pytest


def test_version_and_help(make_herald):
    h = make_herald(migrate=False)
    assert h.cli("version").stdout.startswith("herald ")
    out = h.cli("--help").stdout
    for cmd in ("serve", "migrate", "keys", "backup", "restore", "version"):
        assert cmd in out
    for cmd in ("serve", "migrate", "keys", "backup", "restore"):
        assert "usage: herald " + cmd in h.cli(cmd, "--help").stdout
    assert "HERALD_DATABASE_URL" in h.cli("--help-config").stdout
    assert h.cli("frobnicate", check=False).returncode == 2


@pytest.mark.parametrize("var,value", [
    ("HERALD_DB_POOL_MAX", "abc"), ("HERALD_DB_POOL_MAX", "0"), ("HERALD_LISTEN", "8080"),
    ("HERALD_RATE_LIMIT", "lots"), ("HERALD_MAX_BODY", "huge"), ("HERALD_LOG_LEVEL", "loud"),
    ("HERALD_DATABASE_URL", "mysql://x"), ("HERALD_TLS_CERT_FILE", "/tmp/only-cert.pem"),
    ("HERALD_SYNC_SCHEDULE", "every tuesday"), ("HERALD_SYNC_SCHEDULE", "61 * * * *"),
])
def test_invalid_config_names_the_variable(make_herald, var, value):
    h = make_herald(migrate=False)
    res = h.cli("serve", env={var: value}, check=False)
    assert res.returncode != 0
    assert var in res.stderr


def test_env_file(make_herald, workdir):
    h = make_herald(migrate=False)
    env_file = os.path.join(workdir, "test.env")
    with open(env_file, "w") as f:
        f.write("# comment\nexport HERALD_WRITER_BATCH=banana\nHERALD_DB_POOL_MAX=banana\n")
    res = h.cli("migrate", "status", env={"HERALD_ENV_FILE": env_file}, check=False)
    assert res.returncode == 2 and "HERALD_WRITER_BATCH" in res.stderr
    with open(env_file, "w") as f:
        f.write("HERALD_DB_POOL_MAX=banana\n")  # the environment wins over the file
    assert h.cli("migrate", "status", env={"HERALD_ENV_FILE": env_file}).returncode == 0


def test_serve_refuses_pending_migrations(make_herald):
    h = make_herald(migrate=False)
    rc = h.start(expect_fail=True)
    assert rc == 1
    assert "migrate up" in h.read_log()
    h.proc = None


def test_migrate_up_down_status(make_herald):
    h = make_herald(migrate=False)
    status = h.cli("migrate", "status").stdout
    n = status.count("pending")
    assert n >= 5
    assert f"{n} migration(s) applied" in h.cli("migrate", "up").stderr
    assert "0 migration(s) applied" in h.cli("migrate").stderr  # idempotent, up is the default
    st = h.cli("migrate", "status").stdout
    assert st.count("applied") >= n and "pending" not in st
    assert "2 migration(s) reverted" in h.cli("migrate", "down", "2").stderr
    assert "1 migration(s) reverted" in h.cli("migrate", "down").stderr
    assert f"{n - 3} migration(s) reverted" in h.cli("migrate", "down", str(n - 3)).stderr
    assert h.cli("migrate", "down", check=False).returncode == 1  # nothing left
    h.cli("migrate", "up")
    assert "pending" not in h.cli("migrate", "status").stdout


def count_events(h):
    r = h.get("/api/database/performance", key=h.admin_key).json()
    return {t["name"]: t["rows"] for t in r["performance"]["tables"]}["event_source"]


def gen(h, n, prefix="b"):
    events = [{"platform": "herald", "campaignId": "bk", "eventType": "sent",
               "email": f"{prefix}{i}@example.com"} for i in range(n)]
    assert h.post("/api/event-keys/generate", {"events": events},
                  key=h.admin_key).json()["created"] == n


@pytest.mark.parametrize("own_key", [False, True])
def test_backup_and_restore(make_herald, workdir, own_key):
    """Encrypted either way: with the operator's key, or with the one created on first use."""
    env = {}
    if own_key:
        keyfile = os.path.join(workdir, "backup.key")
        with open(keyfile, "w") as f:
            f.write("ab" * 32 + "\n")
        env["HERALD_BACKUP_KEY_FILE"] = keyfile
    h = make_herald(env=env).start()
    gen(h, 30)
    path = os.path.join(workdir, "herald.backup")
    h.cli("backup", path)  # online, while serving
    assert os.path.getsize(path) > 0
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path, "rb") as f:
        head = f.read(16)
    assert head.startswith(b"HRLDENC1")
    gen(h, 5, prefix="after")
    assert count_events(h) == 35
    # Refused while the server runs.
    res = h.cli("restore", path, check=False)
    assert res.returncode == 1 and "running" in res.stderr
    assert h.stop() == 0
    h.cli("restore", path)
    h.start()
    assert count_events(h) == 30
    # The admin key from before the backup still works; the data is the backup's.
    assert h.get("/api/events?email=after0@example.com", key=h.admin_key).json()["events"] == []


def test_restore_rejects_damage_and_wrong_key(make_herald, workdir):
    keyfile = os.path.join(workdir, "k1")
    with open(keyfile, "wb") as f:
        f.write(os.urandom(32))
    h = make_herald(env={"HERALD_BACKUP_KEY_FILE": keyfile})
    path = os.path.join(workdir, "b.enc")
    h.cli("backup", path)
    other = os.path.join(workdir, "k2")
    with open(other, "wb") as f:
        f.write(os.urandom(32))
    res = h.cli("restore", path, env={"HERALD_BACKUP_KEY_FILE": other}, check=False)
    assert res.returncode == 1 and "wrong key" in res.stderr
    nokey = {"HERALD_BACKUP_KEY_FILE": os.path.join(workdir, "no-such-key")}
    res = h.cli("restore", path, env=nokey, check=False)
    assert res.returncode == 1 and "encrypted" in res.stderr
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    damaged = os.path.join(workdir, "damaged.enc")
    open(damaged, "wb").write(bytes(data))
    assert h.cli("restore", damaged, check=False).returncode == 1
    junk = os.path.join(workdir, "junk")
    open(junk, "wb").write(b"not a backup at all" * 100)
    res = h.cli("restore", junk, check=False)  # with the key: not authenticated
    assert res.returncode == 1 and "not an encrypted Herald backup" in res.stderr
    res = h.cli("restore", junk, "--allow-plaintext", env=nokey, check=False)
    assert res.returncode == 1 and "does not verify" in res.stderr
    # The database was not touched by the failed restores.
    assert h.cli("migrate", "status").stdout.count("applied") >= 2
