"""The real server as a subprocess (``trading serve``) on a free loopback port, for tests
that need a process to talk HTTP to, or to kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from trading.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """``trading serve`` with this test module's database and keys (settings.var_dir)."""

    def __init__(self, settings: Settings, database_url: str, port: int | None = None, demo: bool = False) -> None:
        self.settings, self.database_url, self.demo = settings, database_url, demo
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = Path(settings.var_dir) / f"server-{self.port}.log"

    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("TRADING_") and name != "DATABASE_URL"}
        env.update(DATABASE_URL=self.database_url, TRADING_VAR_DIR=str(self.settings.var_dir),
                   TRADING_HOST="127.0.0.1", TRADING_PORT=str(self.port), PYTHONPATH=str(ROOT))
        return env

    def start(self, timeout: float = 60.0) -> LiveServer:
        assert self.process is None or self.process.poll() is not None, "already running"
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps writing to it
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(self.port),
             *(["--demo"] if self.demo else [])],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as when the machine loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self, username: str, password: str) -> str:
        answer = httpx.post(f"{self.url}/api/auth/token", json={"username": username, "password": password,
                                                                "name": "测试"}, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]
