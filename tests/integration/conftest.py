import os
import shutil
import tempfile

import pytest

from harness import Herald, PgCluster

BACKENDS = [b for b in os.environ.get("HERALD_TEST_BACKENDS", "sqlite,postgres").split(",") if b]


@pytest.fixture(scope="session")
def pg():
    cluster = PgCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="herald-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_herald(backend, workdir, request):
    """Factory: a migrated Herald with an admin key, not yet serving."""
    made = []

    def make(env=None, migrate=True, subdir=None):
        wd = workdir
        if subdir:
            wd = os.path.join(workdir, subdir)
            os.makedirs(wd, exist_ok=True)
        pg = request.getfixturevalue("pg") if backend == "postgres" else None
        # Nodes of one test share the key that signs mail links, as a deployment must.
        env = {"HERALD_MAIL_SECRET_FILE": os.path.join(workdir, "mail.key"), **(env or {})}
        h = Herald(backend, wd, pg=pg, env=env)
        if migrate:
            h.migrate()
            h.admin_key = h.cli("keys", "bootstrap").stdout.splitlines()[0]
        made.append(h)
        return h

    yield make
    for h in made:
        if h.proc:
            rc = h.stop()
            assert rc == 0, f"herald exited with {rc}: {h.read_log()[-4000:]}"


@pytest.fixture
def herald(make_herald):
    """A running Herald with an admin key (h.admin_key)."""
    return make_herald().start()


def pytest_configure(config):
    # Self-signed certificates in the TLS test are deliberate.
    config.addinivalue_line("filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")
