#!/usr/bin/env bash
# One command: the sending benchmark of issue 8, all into one postfix smtp-sink.
#  1. smtp-source -s 8 -m COUNT -l 4096: the transport's limit on this machine (mails/s).
#  2. bench/send_raw: COUNT personalised 4 KB HTML mails built, DKIM-signed (RSA-2048; then
#     RSA-2048 + Ed25519) and sent over HERALD_SMTP_WORKERS kept-open connections, no store;
#     then each stage alone (build, build+sign on one thread, send of one rendered mail).
#  3. The campaign: a served Herald (BACKEND sqlite or postgres), a list, COUNT contacts by
#     CSV import, a campaign of a 4 KB HTML mail, send, wait for "finished" (RUNS campaigns).
# Medians of RUNS runs; ratios to smtp-source and to the nodemailer baseline (173/s).
# Environment: COUNT (20000), RUNS (3), HERALD_SMTP_WORKERS (8), BACKEND (sqlite),
# SKIP_CAMPAIGN=1 (steps 1-2 only), SKIP_RAW=1 (steps 1 and 3 only), SINK_USER (nobody).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
COUNT=${COUNT:-20000}
RUNS=${RUNS:-3}
WORKERS=${HERALD_SMTP_WORKERS:-8}
NODEMAILER=173
PY=/usr/bin/python3

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u "${SINK_USER:-nobody}" "127.0.0.1:$port" 1000 >/dev/null 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    $PY -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
    sleep 0.1
done

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "== smtp-source -s 8 -m $COUNT -l 4096 into smtp-sink (127.0.0.1:$port), $RUNS runs"
source_runs=()
for _ in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    /usr/sbin/smtp-source -s 8 -m "$COUNT" -l 4096 "127.0.0.1:$port"
    t1=$(date +%s.%N)
    r=$(awk -v n="$COUNT" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}')
    source_runs+=("$r")
    echo "  smtp-source mails/s $r"
done
SOURCE=$(printf '%s\n' "${source_runs[@]}" | median)
echo "  median $SOURCE mails/s"

raw_runs() { # $1 = rsa|ed25519: prints the median mails/s of RUNS full runs
    local out=()
    for _ in $(seq "$RUNS"); do
        line=$(./build/send_raw "smtp://127.0.0.1:$port" "$COUNT" "$WORKERS" full "$1")
        echo "  $1: $line" >&2
        out+=("$(echo "$line" | awk '{print $2}')")
    done
    printf '%s\n' "${out[@]}" | median
}

if [ "${SKIP_RAW:-0}" != 1 ]; then
echo "== transport (bench/send_raw): build + DKIM + send, $WORKERS connections, $RUNS runs"
RAW_RSA=$(raw_runs rsa)
RAW_ED=$(raw_runs ed25519)
echo "  median rsa-sha256: $RAW_RSA mails/s = $(ratio "$RAW_RSA" "$SOURCE") x smtp-source," \
     "$(ratio "$RAW_RSA" "$NODEMAILER") x nodemailer ($NODEMAILER/s)"
echo "  median rsa-sha256 + ed25519-sha256: $RAW_ED mails/s = $(ratio "$RAW_ED" "$SOURCE")" \
     "x smtp-source, $(ratio "$RAW_ED" "$NODEMAILER") x nodemailer"
echo "== stages alone (one run each)"
echo "  build (1 thread):           $(./build/send_raw "smtp://127.0.0.1:$port" 5000 1 build none)"
echo "  build + rsa sign (1 thread): $(./build/send_raw "smtp://127.0.0.1:$port" 2000 1 sign rsa)"
echo "  send only ($WORKERS conns):     $(./build/send_raw "smtp://127.0.0.1:$port" "$COUNT" "$WORKERS" send none)"
fi

if [ "${SKIP_CAMPAIGN:-0}" = 1 ]; then
    exit 0
fi
echo "== campaign through Herald's HTTP API (${BACKEND:-sqlite}), $COUNT recipients, $RUNS runs"
SINK_PORT=$port SOURCE=$SOURCE COUNT=$COUNT RUNS=$RUNS WORKERS=$WORKERS NODEMAILER=$NODEMAILER \
HERALD_BIN="$PWD/build/herald" $PY - <<'EOF'
import os, shutil, statistics, sys, tempfile, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
from harness import Herald, PgCluster, dkim_keys

count, runs = int(os.environ["COUNT"]), int(os.environ["RUNS"])
source, nodemailer = float(os.environ["SOURCE"]), float(os.environ["NODEMAILER"])
backend = os.environ.get("BACKEND", "sqlite")
workdir = tempfile.mkdtemp(prefix="herald-send-")
pg = None
if backend == "postgres":
    pg = PgCluster()
    pg.start()
h = Herald(backend, workdir, pg=pg, env={"HERALD_LOG_LEVEL": "warn", "HERALD_DB_POOL_MAX": "20"})
try:
    h.migrate()
    key = h.cli("keys", "bootstrap").stdout.splitlines()[0]
    dkim_env, _ = dkim_keys(h, domain="hotel.example", ed25519=False)
    h.start(env={**dkim_env, "HERALD_SMTP_URL": f"smtp://127.0.0.1:{os.environ['SINK_PORT']}",
                 "HERALD_SMTP_STARTTLS": "off", "HERALD_SMTP_WORKERS": os.environ["WORKERS"],
                 "HERALD_POSTAL_ADDRESS": "Hotel Example, 1 Main Street, Springfield",
                 "HERALD_PUBLIC_URL": "https://mail.hotel.example"})

    def call(method, path, expect, **kw):
        r = h.request(method, path, key=key, timeout=600, **kw)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    lst = call("POST", "/api/lists", 201, json={"name": "bench", "optin": "single"})["id"]
    csv = "email,name,room\n" + "".join(f"guest{i}@mail{i % 50}.example,Guest {i},suite\n"
                                         for i in range(count))
    t0 = time.time()
    job = call("POST", f"/api/contacts/import?lists={lst}", 202, data=csv.encode(),
               headers={"Content-Type": "text/csv"})["jobId"]
    while (st := call("GET", f"/api/contacts/import/{job}", 200))["status"] not in \
            ("completed", "failed", "cancelled"):
        time.sleep(0.2)
    assert st["status"] == "completed", st
    print(f"  setup: {count} contacts imported in {time.time() - t0:.1f} s")
    para = ("<p>Dear {{ contact.name }}, our spa reopens on Monday with new treatments - "
            "<a href=\"https://hotel.example/spa\">book now</a>.</p>\n")
    html = "<html><body>" + para * (4096 // len(para) + 1) + "</body></html>"
    rates = []
    for run in range(runs):
        cid = call("POST", "/api/campaigns", 201, json={
            "name": f"bench {run}", "subject": "Our spa reopens", "fromEmail": "news@hotel.example",
            "fromName": "Hotel Example", "html": html, "lists": [lst]})["id"]
        t0 = time.time()
        call("POST", f"/api/campaigns/{cid}/send", 202)
        while (c := call("GET", f"/api/campaigns/{cid}", 200))["status"] not in \
                ("finished", "cancelled"):
            time.sleep(0.2)
        secs = time.time() - t0
        rate = c["sent"] / secs
        rates.append(rate)
        print(f"  campaign {cid}: {c['sent']} sent, {c['failed']} failed, {c['bounced']} bounced"
              f" of {c['recipients']} in {secs:.1f} s = {rate:.0f} mails/s")
        assert c["sent"] == count, c
    med = statistics.median(rates)
    print(f"  median {med:.0f} mails/s = {med / source:.2f} x smtp-source ({source:.0f}/s), "
          f"{med / nodemailer:.1f} x nodemailer ({nodemailer:.0f}/s)")
finally:
    if h.proc:
        h.stop()
    if pg:
        pg.stop()
    shutil.rmtree(workdir, ignore_errors=True)
EOF
