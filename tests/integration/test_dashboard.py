"""The dashboard's server side, black-box on both backends: static files from HERALD_WEB_DIR
(immutable hashed assets, no-cache index, its own CSP, nothing outside the folder), Herald
serving the API when the dashboard is not built, and /api/keys (the Settings page's API)."""
import gzip
import os
import time

import requests


def web_dir(workdir):
    d = os.path.join(workdir, "webdist")
    os.makedirs(os.path.join(d, "assets"), exist_ok=True)
    files = {
        "index.html": '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>',
        "assets/index-AbC123.js": "console.log('herald');\n" * 200,
        "assets/index-AbC123.css": "body{margin:0}",
        "sw.js": "self.addEventListener('fetch', () => {});",
        "manifest.webmanifest": '{"name":"Herald"}',
        "icon.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    }
    for name, body in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(body)
    with open(os.path.join(workdir, "secret.js"), "w") as f:
        f.write("outside")
    os.symlink(os.path.join(workdir, "secret.js"), os.path.join(d, "assets", "link.js"))
    return d


def test_dashboard_files_and_headers(make_herald, workdir):
    h = make_herald(env={"HERALD_WEB_DIR": web_dir(workdir)}).start()
    r = requests.get(h.url + "/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-cache"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert r.headers.get("X-Content-Type-Options") == "nosniff"

    a = requests.get(h.url + "/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip"},
                     timeout=10, stream=True)
    assert a.status_code == 200
    assert a.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert a.headers["Content-Type"].startswith("text/javascript")
    assert a.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(a.raw.read()).startswith(b"console.log")
    css = requests.get(h.url + "/assets/index-AbC123.css", timeout=10)
    assert css.headers["Content-Type"].startswith("text/css")

    for path, ctype in (("/sw.js", "text/javascript"),
                        ("/manifest.webmanifest", "application/manifest+json"),
                        ("/icon.svg", "image/svg+xml")):
        r = requests.get(h.url + path, timeout=10)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith(ctype), path
        assert r.headers["Cache-Control"] == "no-cache", path
    assert requests.head(h.url + "/", timeout=10).status_code == 200


def test_dashboard_serves_nothing_outside_its_folder(make_herald, workdir):
    h = make_herald(env={"HERALD_WEB_DIR": web_dir(workdir)}).start()
    for path in ("/assets/missing-1.js", "/assets/.hidden.js", "/assets/..%2Fsecret.js",
                 "/assets/%2E%2E%2Fsecret.js", "/assets/link.js", "/assets/index-AbC123",
                 "/assets/x.exe", "/index.html", "/assets/../secret.js"):
        r = requests.get(h.url + path, timeout=10)
        assert r.status_code == 404, path
        assert "outside" not in r.text, path
    # Unknown dashboard-looking paths are plain 404s; the API keeps its own answers.
    assert requests.get(h.url + "/settings", timeout=10).status_code == 404
    assert requests.post(h.url + "/", timeout=10).status_code == 405


def test_api_works_without_a_built_dashboard(make_herald, workdir):
    h = make_herald(env={"HERALD_WEB_DIR": os.path.join(workdir, "nowhere")}).start()
    r = requests.get(h.url + "/", timeout=10)
    assert r.status_code == 404
    assert "not built" in r.json()["error"]["message"]
    assert requests.get(h.url + "/livez", timeout=10).status_code == 200
    assert h.get("/api/events", key=h.admin_key).status_code == 200
    assert requests.get(h.url + "/assets/index-AbC123.js", timeout=10).status_code == 404


def test_keys_api_create_list_rotate_revoke(herald):
    h, admin = herald, herald.admin_key
    r = h.post("/api/keys", {"name": "reporting", "scopes": "events:read,contacts:read"},
               key=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    secret, kid = body["secret"], body["key"]["id"]
    assert secret.startswith("hrld_") and body["key"]["scopes"] == "events:read,contacts:read"
    assert h.get("/api/events", key=secret).status_code == 200
    assert h.get("/api/keys", key=secret).status_code == 403  # admin only

    listed = h.get("/api/keys", key=admin)
    assert listed.status_code == 200
    assert secret not in listed.text
    assert all("secret" not in k and "secretHash" not in k for k in listed.json()["keys"])
    names = {k["name"]: k for k in listed.json()["keys"]}
    assert names["reporting"]["revokedAt"] is None and names["reporting"]["prefix"]

    rot = h.post(f"/api/keys/{kid}/rotate", key=admin)
    assert rot.status_code == 200, rot.text
    new_secret = rot.json()["secret"]
    assert new_secret != secret and rot.json()["key"]["rotatedAt"]
    assert h.get("/api/events", key=new_secret).status_code == 200

    assert h.request("DELETE", f"/api/keys/{kid}", key=admin).json()["revoked"] is True
    time.sleep(1.2)  # a valid key is cached for 1 s
    assert h.get("/api/events", key=new_secret).status_code == 401
    gone = {k["id"]: k for k in h.get("/api/keys", key=admin).json()["keys"]}[kid]
    assert gone["revokedAt"]
    assert h.request("DELETE", f"/api/keys/{kid}", key=admin).status_code == 404
    assert h.post(f"/api/keys/{kid}/rotate", key=admin).status_code == 404


def test_keys_api_refusals_name_the_field(herald):
    h, admin = herald, herald.admin_key
    cases = [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "scopes": "root"}, "scopes"),
             ({"name": "x", "rateLimit": "fast"}, "rateLimit"), ({"name": 3}, "name")]
    for body, field in cases:
        r = h.post("/api/keys", body, key=admin)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.text)
    me = [k for k in h.get("/api/keys", key=admin).json()["keys"] if k["name"] == "admin"][0]
    r = h.request("DELETE", f"/api/keys/{me['id']}", key=admin)
    assert r.status_code == 409 and r.json()["error"]["field"] == "id"
    assert h.get("/api/events", key=admin).status_code == 200
    assert h.post("/api/keys/nope/rotate", key=admin).status_code == 404
