"""Backups, the operations side: the schedule (a job on the jobs layer), retention locally
and on S3, the off-site copy through the S3 fake (which checks SigV4 itself), its faults,
`herald backup list`, restore from the remote copy, the status entry and the metric."""
import os
import re
import time

import pytest

from harness import S3Fake


@pytest.fixture
def s3(workdir):
    fake = S3Fake(workdir)
    yield fake
    fake.stop()


def gen(h, n, prefix="s"):
    events = [{"platform": "herald", "campaignId": "s3", "eventType": "sent",
               "email": f"{prefix}{i}@example.com"} for i in range(n)]
    assert h.post("/api/event-keys/generate", {"events": events},
                  key=h.admin_key).json()["created"] == n


def count_events(h):
    r = h.get("/api/database/performance", key=h.admin_key).json()
    return {t["name"]: t["rows"] for t in r["performance"]["tables"]}["event_source"]


def named(dirpath):
    if not os.path.isdir(dirpath):
        return []
    return sorted(n for n in os.listdir(dirpath) if re.fullmatch(r"herald-\d{8}T\d{6}Z\.hbk", n))


def test_backup_uploads_lists_and_restores_from_remote(make_herald, workdir, s3):
    bdir = os.path.join(workdir, "backups")
    h = make_herald(env=s3.env(HERALD_BACKUP_DIR=bdir)).start()
    gen(h, 12)
    res = h.cli("backup")
    assert "uploaded to S3" in res.stderr, res.stderr
    [name] = named(bdir)
    remote = s3.objects()
    assert list(remote) == [name]
    assert remote[name] == os.path.getsize(os.path.join(bdir, name))
    # Only ciphertext goes off-site.
    listing = h.cli("backup", "list").stdout
    assert re.search(rf"^{name}\s+\S+\s+\d+\s+\d+$", listing, re.M), listing
    assert s3.stats()["signature_failures"] == 0
    # A new machine: same key, same bucket, no local files.
    gen(h, 3, prefix="later")
    h.stop()
    os.unlink(os.path.join(bdir, name))
    assert re.search(rf"^{name}\s+\S+\s+-\s+\d+$", h.cli("backup", "list").stdout, re.M)
    h.cli("restore", "--remote", name)
    h.start()
    assert count_events(h) == 12
    h.stop()
    h.cli("restore", s3.ref(name))
    res = h.cli("restore", f"s3://{s3.bucket}/elsewhere/{name}", check=False)
    assert res.returncode == 1 and "not under the configured" in res.stderr
    # The download went to a private directory that is gone.
    assert [n for n in os.listdir(bdir) if n.startswith(".herald-tmp")] == []


def test_wrong_secret_is_refused_by_the_signature_check(make_herald, workdir, s3):
    bdir = os.path.join(workdir, "backups")
    wrong = os.path.join(workdir, "wrong-secret")
    with open(wrong, "w") as f:
        f.write("not-the-secret\n")
    h = make_herald(env=s3.env(HERALD_BACKUP_DIR=bdir, HERALD_BACKUP_S3_SECRET_KEY_FILE=wrong))
    res = h.cli("backup", check=False)
    assert res.returncode == 1 and "SignatureDoesNotMatch" in res.stderr, res.stderr
    assert "not-the-secret" not in res.stderr
    assert s3.stats()["signature_failures"] >= 1 and s3.objects() == {}
    assert len(named(bdir)) == 1  # the local backup is kept
    res = h.cli("backup", "list", check=False)
    assert res.returncode == 1 and "SignatureDoesNotMatch" in res.stderr


def test_s3_faults_are_retried_then_reported(make_herald, workdir, s3):
    bdir = os.path.join(workdir, "backups")
    h = make_herald(env=s3.env(HERALD_BACKUP_DIR=bdir, HERALD_UPSTREAM_TIMEOUT_MS="1000"))
    s3.faults(status=500, count=2)  # two failures, then the third attempt succeeds
    assert "uploaded to S3" in h.cli("backup").stderr
    assert len(s3.objects()) == 1
    time.sleep(1.1)  # a new name
    s3.faults(status=503, count=10)
    res = h.cli("backup", check=False)
    assert res.returncode == 1 and "503 SlowDown" in res.stderr, res.stderr
    s3.faults(count=0, delay_ms=3000)  # slower than the stall limit
    started = time.time()
    res = h.cli("backup", "list", check=False)
    assert res.returncode == 1 and "no answer" in res.stderr, res.stderr
    assert time.time() - started < 20


def test_retention_deletes_old_backups_locally_and_remotely(make_herald, workdir, s3):
    bdir = os.path.join(workdir, "backups")
    os.makedirs(bdir)
    old, recent = "herald-20200101T000000Z.hbk", time.strftime("herald-%Y%m%dT000000Z.hbk",
                                                                time.gmtime(time.time() - 86400))
    for n in (old, recent):
        open(os.path.join(bdir, n), "wb").write(b"x")
        s3.put_raw(n)
    s3.put_raw("unrelated-file.txt")
    s3.faults(max_keys=2)  # listings come in pages
    h = make_herald(env=s3.env(HERALD_BACKUP_DIR=bdir, HERALD_BACKUP_KEEP_DAYS="7"))
    res = h.cli("backup")
    assert "1 old backup(s) deleted locally, 1 remotely" in res.stderr, res.stderr
    assert old not in named(bdir) and recent in named(bdir) and len(named(bdir)) == 2
    assert old not in s3.objects() and recent in s3.objects()
    assert "unrelated-file.txt" in s3.objects()


def wait_for(pred, timeout=60, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out")


def test_scheduled_backup_runs_as_a_job_and_is_reported(make_herald, workdir, s3):
    bdir = os.path.join(workdir, "backups")
    os.makedirs(bdir)
    open(os.path.join(bdir, "herald-20200101T000000Z.hbk"), "wb").write(b"x")
    h = make_herald(env=s3.env(HERALD_BACKUP_DIR=bdir, HERALD_BACKUP_SCHEDULE="@every 3s"))
    h.start()
    before = time.time()
    st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["backup"]
    assert st["schedule"] == "@every 3s" and st["offsite"] is True
    wait_for(lambda: named(bdir) and named(bdir)[-1] != "herald-20200101T000000Z.hbk")
    wait_for(lambda: len(s3.objects()) >= 1)
    # The old local backup went by retention (default 30 days) after the successful one.
    wait_for(lambda: "herald-20200101T000000Z.hbk" not in named(bdir))
    st = wait_for(lambda: (lambda b: b if b["lastSuccessAt"] else None)(
        h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["backup"]))
    assert st["status"] in ("healthy", "failing") and st["lastRunAt"]
    jobs = h.get("/api/jobs?status=completed", key=h.admin_key)
    if jobs.status_code == 200:
        assert any(j.get("kind") == "backup" for j in jobs.json().get("jobs", [])), jobs.text
    text = h.get("/metrics").text
    m = re.search(r"^herald_backup_last_success_timestamp_seconds (\S+)$", text, re.M)
    assert m and before - 5 <= float(m.group(1)) <= time.time() + 1, text[-500:]
    assert "# TYPE herald_backup_last_success_timestamp_seconds gauge" in text
    assert [n for n in os.listdir(bdir) if n.startswith(".herald-tmp")] == []


def test_failed_upload_is_retried_by_the_jobs_layer(make_herald, workdir, s3):
    """The first scheduled run fails its upload (three 500s); the jobs layer retries the job
    after its backoff, and the retry uploads the file the failed attempt wrote."""
    bdir = os.path.join(workdir, "backups")
    h = make_herald(env=s3.env(HERALD_BACKUP_DIR=bdir, HERALD_BACKUP_SCHEDULE="@every 2s"))
    s3.faults(status=500, count=3)
    h.start()
    first = wait_for(lambda: named(bdir), timeout=30)[0]
    wait_for(lambda: first in s3.objects(), timeout=60)
    log = h.read_log()
    assert "S3 request failed" in log
    # The retried job did not write a second file for the same run before uploading.
    h.stop()
    local = named(bdir)
    assert all(n in s3.objects() for n in local[:-1]), (local, s3.objects())


def test_bad_backup_schedule_stops_start_up(make_herald):
    h = make_herald(env={"HERALD_BACKUP_SCHEDULE": "every tuesday"})
    res = h.cli("serve", check=False)
    assert res.returncode == 2 and "HERALD_BACKUP_SCHEDULE" in res.stderr
