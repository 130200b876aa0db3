"""`trading serve` on its own embedded PostgreSQL stops cleanly on SIGTERM (a service
manager, `kill`) as on Ctrl-C: the portal says so and the database server stops too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.common.live_server import ROOT, free_port


def test_sigterm_stops_the_portal_and_its_embedded_database(tmp_path: Path):
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("TRADING_") and name != "DATABASE_URL"}
    env.update(TRADING_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve",
                                   "--port", str(port)], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        postmaster = tmp_path / "var" / "pgdata" / "postmaster.pid"
        assert postmaster.exists()
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert "server" not in home.headers  # no banner naming the software
        assert home.headers["x-frame-options"] == "DENY"

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, log.read_text()
        assert "已停止。" in log.read_text()
        deadline = time.monotonic() + 20
        while postmaster.exists():  # PostgreSQL removes it when it has shut down
            assert time.monotonic() < deadline, "the embedded PostgreSQL is still running"
            time.sleep(0.2)
    finally:
        if server.poll() is None:
            server.kill()


def test_x_forwarded_for_is_believed_only_from_configured_proxies(monkeypatch):
    """The per-address login limit cannot be dodged by naming another address."""
    from cli.main import proxy_options
    from trading.settings import Settings

    monkeypatch.delenv("TRADING_TRUSTED_PROXIES", raising=False)
    assert proxy_options(Settings.from_env())["proxy_headers"] is False
    monkeypatch.setenv("TRADING_TRUSTED_PROXIES", "10.0.0.5, 10.0.0.6")
    assert proxy_options(Settings.from_env()) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.5", "10.0.0.6"]}
