"""Starts what the dashboard's end-to-end run drives: a real Herald on SQLite serving web/dist,
with the suite's fakes (Lemlist, Mixpanel, SMTP receiver) from tests/fakes through the
black-box harness. Prints one JSON line (url, key, fake URLs), then runs until stdin closes."""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import subprocess  # noqa: E402

from harness import Herald, LemlistFake, MixpanelFake, SmtpFake  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="herald-e2e-")
    lemlist = LemlistFake(campaigns=3, activities=120, no_rate_limit=True)
    mixpanel = MixpanelFake()
    smtp = SmtpFake()
    dkim = os.path.join(work, "dkim.pem")
    subprocess.run(["openssl", "genrsa", "-out", dkim, "2048"], check=True, capture_output=True)
    env = {
        "HERALD_WEB_DIR": os.path.join(ROOT, "web", "dist"),
        "HERALD_MAIL_SECRET_FILE": os.path.join(work, "mail.key"),
        "HERALD_OTA_SECRET_FILE": os.path.join(work, "ota.key"),
        "HERALD_POSTAL_ADDRESS": "Herald Hotel, 1 Test Street, 1000 Testville",
        "HERALD_PUBLIC_URL": "http://127.0.0.1:9",
        "HERALD_DKIM_KEY_FILE": dkim,
        "HERALD_DKIM_DOMAIN": "herald.test",
        "HERALD_DKIM_SELECTOR": "hr",
        "HERALD_SMTP_WORKERS": "2",
        "HERALD_SYNC_WORKERS": "2",
        **lemlist.env(),
        **mixpanel.env(),
        **smtp.env(),
    }
    h = Herald("sqlite", work, env=env)
    h.migrate()
    key = h.cli("keys", "bootstrap").stdout.splitlines()[0]
    h.start()
    print(json.dumps({"url": h.url, "key": key, "smtp": smtp.url, "lemlist": lemlist.url,
                      "workdir": work}), flush=True)
    try:
        sys.stdin.read()
    finally:
        h.stop()
        for f in (lemlist, mixpanel, smtp):
            f.stop()


if __name__ == "__main__":
    main()
