"""``python -m lfnb.local serve|wait`` and ``lfnb local …`` as subprocesses."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.integration


def start(*args: str) -> tuple[subprocess.Popen, str, list[str]]:
    """Start a CLI server on a free port; (process, base URL, stdout lines up to "ready")."""
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        found = re.fullmatch(r"lfnb\.local ready at (http://127\.0\.0\.1:\d+)", lines[-1])
        if found:
            return proc, found.group(1), lines
    proc.kill()
    raise AssertionError(f"no 'ready' line; stdout={lines!r} stderr={proc.stderr.read()!r}")


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


def test_serve_prints_url_and_serves_health():
    proc, url, lines = start("-m", "lfnb.local", "serve", "--port", "0", "--traces", "20", "--days", "1",
                             "--anchor", "2026-11-01T00:00:00Z", "--generation", "v3")
    try:
        assert f"export LANGFUSE_BASE_URL={url}" in lines
        assert "export LANGFUSE_PUBLIC_KEY=pk-lf-local" in lines
        assert lines[0].startswith("lfnb.local (v3) serving ")
        r = requests.get(url + "/api/public/health", timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "OK"
        r = requests.get(url + "/api/public/v2/observations", auth=("pk-lf-local", "sk-lf-local"), timeout=5)
        assert r.status_code == 404 and r.json()["error"] == "LangfuseNotFoundError"
        wait = subprocess.run([sys.executable, "-m", "lfnb.local", "wait", "--base-url", url, "--timeout", "10"],
                              capture_output=True, text=True, timeout=30)
        assert wait.returncode == 0
        assert wait.stdout.startswith(f"{url} is up")
    finally:
        code, out = stop(proc)
    assert code == 0
    assert out.strip().endswith("lfnb.local stopped")


def test_custom_secret_is_not_printed():
    proc, url, lines = start("-m", "lfnb.cli", "local", "serve", "--port", "0", "--traces", "5", "--days", "1",
                             "--public-key", "pk-lf-mine", "--secret-key", "sk-lf-very-secret",
                             "--rate-limit", "pro", "--faults", "500=0", "--latency-ms", "1")
    try:
        assert "sk-lf-very-secret" not in "\n".join(lines)
        assert "export LANGFUSE_SECRET_KEY=<the --secret-key you gave>" in lines
        r = requests.get(url + "/api/public/v3/scores", auth=("pk-lf-mine", "sk-lf-very-secret"), timeout=5)
        assert r.status_code == 200
    finally:
        code, out = stop(proc)
    assert code == 0
    assert "sk-lf-very-secret" not in out


def test_bad_fault_spec_exits_2_with_the_grammar():
    done = subprocess.run([sys.executable, "-m", "lfnb.local", "serve", "--port", "0", "--traces", "1",
                           "--days", "1", "--faults", "418=0.1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown fault kind '418'; valid kinds: 429, 500, 502, 503, 524, drop, slow, empty, short" in done.stderr


def test_wait_times_out_with_exit_1():
    done = subprocess.run([sys.executable, "-m", "lfnb.local", "wait", "--base-url", "http://127.0.0.1:9",
                           "--timeout", "0.5"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "did not answer within 0.5 s" in done.stderr


def test_lfnb_help_lists_local():
    done = subprocess.run([sys.executable, "-m", "lfnb.cli", "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "local" in done.stdout
