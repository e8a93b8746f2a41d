"""The mail transport from outside: `herald dkim keygen` (its key and DNS record work with an
independent DKIM implementation, dkimpy), `herald serve` with and without a relay and DKIM
keys, and the SMTP receiver fake the email tests rely on (recording, faults, dkimpy helper).
Messages built, signed and sent by Herald's transport are checked by the C unit tests
(test_mime, test_dkim verified by libopendkim and dkimpy, test_smtp against this fake); the
campaign and double opt-in tests check them end to end once their routes exist."""
import base64
import os
import smtplib
import stat
import time

import dkim
import pytest

from harness import SmtpFake, dkim_keys, dkim_signatures, parse_dkim_keygen, verify_dkim

MSG = (b"From: Hotel <news@herald.test>\r\nTo: guest@mail.example\r\nSubject: Hello\r\n"
       b"Date: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <a1@herald.test>\r\n\r\n"
       b"Body line\r\n.starts with a dot\r\n")


def pem_body(path):
    with open(path) as f:
        return base64.b64decode("".join(l for l in f.read().splitlines()
                                        if l and not l.startswith("-----")))


def test_transport_keygen_record_verifies_with_dkimpy(make_herald):
    h = make_herald(migrate=False)
    out = os.path.join(h.workdir, "k.pem")
    res = h.cli("dkim", "keygen", "--domain", "herald.test", "--selector", "s2026",
                "--out", out)
    name, value = parse_dkim_keygen(res.stdout)
    assert name == "s2026._domainkey.herald.test"
    assert value.startswith("v=DKIM1; k=rsa; p=MII")
    for line in res.stdout.splitlines():  # DNS character-strings are at most 255 long
        if line.startswith("value:"):
            assert all(len(part) <= 255 for part in line.split('"')[1::2])
            assert len(line.split('"')[1::2]) == 2  # a 2048-bit key needs two strings
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out, "rb") as f:
        sig = dkim.sign(MSG, b"s2026", b"herald.test", f.read(),
                        canonicalize=(b"relaxed", b"relaxed"))
    dns = {name: value}
    assert verify_dkim(sig + MSG, dns)
    assert not verify_dkim(sig + MSG.replace(b"Body", b"Bady"), dns)
    assert not verify_dkim(MSG, dns)  # no signature is no pass


def test_transport_keygen_ed25519(make_herald):
    h = make_herald(migrate=False)
    res = h.cli("dkim", "keygen", "--domain", "herald.test", "--selector", "ed1", "--type",
                "ed25519")
    name, value = parse_dkim_keygen(res.stdout)
    assert value.startswith("v=DKIM1; k=ed25519; p=")
    assert len(base64.b64decode(value.split("p=")[1])) == 32
    path = os.path.join(h.workdir, "dkim-ed1.herald.test.pem")  # the default file name
    seed = base64.b64encode(pem_body(path)[-32:])
    sig = dkim.sign(MSG, b"ed1", b"herald.test", seed, signature_algorithm=b"ed25519-sha256")
    sigs = dkim_signatures(sig + MSG, {name: value})
    assert sigs == [{"a": "ed25519-sha256", "d": "herald.test", "s": "ed1", "ok": True}]


def test_transport_keygen_never_overwrites(make_herald):
    h = make_herald(migrate=False)
    out = os.path.join(h.workdir, "k.pem")
    h.cli("dkim", "keygen", "--domain", "herald.test", "--selector", "a", "--out", out)
    before = open(out).read()
    res = h.cli("dkim", "keygen", "--domain", "herald.test", "--selector", "a", "--out", out,
                check=False)
    assert res.returncode == 1 and "already exists" in res.stderr
    assert open(out).read() == before
    for bad in (["--domain", "x y", "--selector", "a"], ["--selector", "a"],
                ["--domain", "herald.test", "--selector", "a", "--bits", "512"],
                ["--domain", "herald.test", "--selector", "a", "--type", "dsa"]):
        res = h.cli("dkim", "keygen", *bad, check=False)
        assert res.returncode == 2 and "usage: herald dkim keygen" in res.stderr


def test_transport_serve_with_relay_and_dkim(make_herald):
    h = make_herald()
    env, dns = dkim_keys(h)
    assert set(dns) == {"hr._domainkey.herald.test", "he._domainkey.herald.test"}
    with SmtpFake() as fake:
        h.start(env={**fake.env(), **env})
        assert h.get("/health").status_code == 200
        assert h.stop() == 0
    # A key that is not there: Herald refuses to start and names the variable.
    rc = h.start(env={"HERALD_SMTP_URL": "smtp://127.0.0.1:25",
                      "HERALD_DKIM_KEY_FILE": os.path.join(h.workdir, "missing.pem"),
                      "HERALD_DKIM_DOMAIN": "herald.test"}, expect_fail=True)
    assert isinstance(rc, int) and rc != 0, rc
    assert "HERALD_DKIM_KEY_FILE" in h.read_log()
    h.proc = None
    # An Ed25519 key given as the RSA key is refused too.
    rc = h.start(env={"HERALD_SMTP_URL": "smtp://127.0.0.1:25",
                      "HERALD_DKIM_KEY_FILE": env["HERALD_DKIM_ED25519_KEY_FILE"],
                      "HERALD_DKIM_DOMAIN": "herald.test"}, expect_fail=True)
    assert isinstance(rc, int) and rc != 0, rc
    assert "not a PEM RSA private key" in h.read_log()
    h.proc = None


def test_transport_serves_without_relay(make_herald):
    h = make_herald().start(env={"HERALD_SMTP_URL": ""})
    assert h.get("/health").status_code == 200
    bad = make_herald(subdir="bad")
    rc = bad.start(env={"HERALD_SMTP_URL": "http://relay.example"}, expect_fail=True)
    assert isinstance(rc, int) and rc != 0, rc
    assert "HERALD_SMTP_URL must start with smtp:// or smtps://" in bad.read_log()
    bad.proc = None


def send(fake, rcpt, msg=MSG, sender="bounces+t@herald.test"):
    with smtplib.SMTP("127.0.0.1", fake.port, timeout=10) as s:
        return s.sendmail(sender, [rcpt], msg)


def test_transport_fake_records_and_faults():
    with SmtpFake() as fake:
        send(fake, "a@mail.example")
        msgs = fake.messages()
        assert len(msgs) == 1
        assert msgs[0]["mail_from"] == "bounces+t@herald.test"
        assert msgs[0]["rcpt_tos"] == ["a@mail.example"]
        assert msgs[0]["raw"] == MSG  # CRLF kept, dot-unstuffed

        fake.faults(rcpt={"hard@mail.example": {"code": 550},
                          "soft@mail.example": {"code": 451, "times": 2}})
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            send(fake, "hard@mail.example")
        assert e.value.recipients["hard@mail.example"][0] == 550
        for _ in range(2):
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                send(fake, "soft@mail.example")
        send(fake, "soft@mail.example")  # the third time it is taken
        assert [a["code"] for a in fake.attempts() if a["rcpt"] == "soft@mail.example"] == \
            [451, 451, 250]

        fake.faults(data_code=452, data_count=1)
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(fake, "b@mail.example")
        assert e.value.smtp_code == 452
        send(fake, "b@mail.example")

        fake.faults(drop=1)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            send(fake, "c@mail.example")
        fake.faults(delay_ms=300)
        t0 = time.time()
        send(fake, "c@mail.example")
        assert time.time() - t0 >= 0.3
        fake.faults(reset=True)

        st = fake.stats()
        assert st["accepted"] == len(fake.messages()) == 4
        assert st["dropped"] == 1 and st["data_rejected"] == 1 and st["rcpt_rejected"] == 3
        assert [m["rcpt_tos"][0] for m in fake.wait_messages(4)] == \
            ["a@mail.example", "soft@mail.example", "b@mail.example", "c@mail.example"]
        fake.clear()
        assert fake.messages() == [] and fake.stats()["accepted"] == 0


def test_transport_fake_auth():
    with SmtpFake(user="herald", password="s3cret") as fake:
        assert fake.env()["HERALD_SMTP_USER"] == "herald"
        with smtplib.SMTP("127.0.0.1", fake.port, timeout=10) as s:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("herald", "wrong")
            s.login("herald", "s3cret")
            s.sendmail("a@herald.test", ["b@mail.example"], MSG)
        with smtplib.SMTP("127.0.0.1", fake.port, timeout=10) as s:
            with pytest.raises(smtplib.SMTPSenderRefused):  # AUTH is required
                s.sendmail("a@herald.test", ["b@mail.example"], MSG)
        assert fake.stats()["auth"] == 1 and len(fake.messages()) == 1


def test_transport_fake_many_connections():
    """Eight concurrent connections, as HERALD_SMTP_WORKERS opens by default."""
    import threading
    with SmtpFake() as fake:
        def worker(i):
            with smtplib.SMTP("127.0.0.1", fake.port, timeout=10) as s:
                for k in range(20):
                    s.sendmail("a@herald.test", [f"r{i}-{k}@mail.example"], MSG)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        msgs = fake.wait_messages(160)
        assert len({m["rcpt_tos"][0] for m in msgs}) == 160
        assert fake.stats()["max_concurrent"] >= 2
