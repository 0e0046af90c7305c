"""The processes a browser test talks to, each logging to a file shown when something fails."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30.0


def _die_with_pytest() -> None:
    """In the child: be sent SIGTERM if pytest itself dies (say, killed by a CI timeout).

    Otherwise an orphaned Daphne would keep the test database open and the next run could not
    recreate it.
    """
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class ManagedProcess:
    """A child process whose output goes to a log file we can show when something fails."""

    name: str
    args: list[str]
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own process group: Ctrl-C in pytest does not hit it
            preexec_fn=_die_with_pytest,  # noqa: PLW1509 - before Playwright starts any thread
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def count_in_log(self, text: str) -> int:
        return self.log().count(text)

    def wait_for_log(self, text: str, *, more_than: int, timeout: float = 5.0) -> None:
        """Until ``text`` appears in the log more than ``more_than`` times."""
        deadline = time.monotonic() + timeout
        while self.count_in_log(text) <= more_than:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never logged {text!r}:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:]) or "(empty log)"

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.alive():
                pytest.fail(f"{self.name} exited while starting:\n{self.log_tail()}")
            if condition():
                return
            time.sleep(0.1)
        pytest.fail(
            f"{self.name} was not {what} after {START_TIMEOUT_SECONDS}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._log is not None:
            self._log.close()


@dataclass
class LiveApp:
    url: str
    sms_file: Path
    processes: list[ManagedProcess]

    def logs(self) -> str:
        return "\n\n".join(f"--- {p.name} ({p.log_path}) ---\n{p.log_tail()}" for p in self)

    def __iter__(self) -> Iterator[ManagedProcess]:
        return iter(self.processes)

    def process(self, name: str) -> ManagedProcess:
        return next(p for p in self.processes if p.name == name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our loopback
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def answers_redis(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
