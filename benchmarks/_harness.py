"""What both benchmark scripts share: their child processes, targets and machine line.

Each script runs itself in child processes (a server, a worker, a fresh process for
peak RSS) with a private first argument, and speaks to them by lines of text.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any


class Child:
    """A Python subprocess running ``script`` with a private command, spoken to by lines."""

    def __init__(self, script: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def line(self) -> str:
        """The child's next line of output."""
        assert self.process.stdout is not None
        text = self.process.stdout.readline()
        if not text:
            raise RuntimeError(f"{self.process.args!r} exited with {self.process.wait()}")
        return text.strip()

    def say(self, text: str) -> str:
        """Send one line; the child's answer line."""
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self.line()

    def ask(self, **request: Any) -> Any:
        """Send one request to a worker; its decoded answer."""
        return json.loads(self.say(json.dumps(request)))

    def close(self) -> None:
        """Close its stdin (which ends it) and wait for it."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Verdict:
    """One target: what was measured against what is required."""

    name: str
    value: float
    limit: float
    unit: str

    @property
    def ok(self) -> bool:
        return self.value <= self.limit


def machine() -> str:
    """Cores, CPU model, Python and library versions."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
                model,
            )
    except OSError:
        pass
    versions = []
    for package in ("aiohttp", "attrs", "cattrs", "orjson"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"no {package}")
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, " + ", ".join(
        versions
    )
