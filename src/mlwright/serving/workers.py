"""Several server processes on one port, connections spread evenly by the kernel.

``mlwright serve --workers N`` (N > 1) on Linux: a small supervisor starts N worker processes, each
binding its own listening socket to the port with ``SO_REUSEPORT``, so the kernel hands each new
connection to one of them by a hash of its addresses.  (uvicorn's own ``--workers`` shares one socket:
after an idle spell one process can accept a whole burst of keep-alive connections — 32 clients all on
one worker, the others idle — measured here as half the throughput.)  Metrics are aggregated across the
workers (Prometheus multiprocess mode, one directory per service); a worker that dies is replaced; the
supervisor stops them all, cleanly, on SIGINT/SIGTERM.  Elsewhere (no ``SO_REUSEPORT`` balancing),
``serve`` falls back to uvicorn's workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from mlwright.errors import ConfigError

__all__ = ["balanced_workers_supported", "run_workers"]

log = logging.getLogger("mlwright.serving")

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
_QUICK_DEATH = 10.0  # a worker failing (exit code > 0) this soon after it started is broken: stop, do not loop
_MAX_DEATHS = 5  # more worker deaths than this within a minute: stop


def balanced_workers_supported() -> bool:
    """Whether the kernel balances ``SO_REUSEPORT`` listeners (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _check_free(host: str, port: int) -> None:
    """The port must be free: a ``SO_REUSEPORT`` socket would otherwise join another server on it."""
    try:
        _socket(host, port, reuse_port=False).close()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None


def run_workers(spec_env: str, spec: str, host: str, port: int, workers: int) -> int:
    """Run ``workers`` server processes on ``host:port`` until SIGINT/SIGTERM; returns the exit code.

    ``spec``: the JSON the workers build their app from (read from the environment variable ``spec_env``).
    """
    _check_free(host, port)
    metrics_dir = tempfile.mkdtemp(prefix="mlwright-metrics-")
    env = os.environ | {spec_env: spec, METRICS_DIR_ENV: metrics_dir}
    cmd = [sys.executable, "-m", "mlwright.serving.workers", host, str(port)]
    stop = threading.Event()
    code = 0

    def on_signal(signum, _frame) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    procs: list[tuple[subprocess.Popen, float]] = []
    try:
        procs = [(subprocess.Popen(cmd, env=env), time.monotonic()) for _ in range(workers)]
        deaths: list[float] = []
        while not stop.is_set():
            for i, (p, started) in enumerate(procs):
                if p.poll() is None:
                    continue
                _mark_dead(p.pid)
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < 60] + [now]
                if (p.returncode > 0 and now - started < _QUICK_DEATH) or len(deaths) > _MAX_DEATHS:
                    # it failed on its own right after starting, or workers keep dying: a loop would not help
                    log.error("worker %d exited with code %s; stopping the service", p.pid, p.returncode)
                    code = 1
                    stop.set()
                    break
                log.warning("worker %d exited with code %s; starting another", p.pid, p.returncode)
                procs[i] = (subprocess.Popen(cmd, env=env), time.monotonic())
            stop.wait(0.5)
    finally:
        for p, _ in procs:  # each worker finishes its requests and writes its prediction log, then exits
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p, _ in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for s, handler in previous.items():
            signal.signal(s, handler)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return code


def _mark_dead(pid: int) -> None:
    from prometheus_client import multiprocess

    with contextlib.suppress(Exception):  # best effort: only the dead worker's live gauges are affected
        multiprocess.mark_process_dead(pid)


def _worker(host: str, port: int) -> None:
    """One worker: its own ``SO_REUSEPORT`` socket, the app built from the spec in the environment."""
    import uvicorn

    sock = _socket(host, port, reuse_port=True)
    config = uvicorn.Config("mlwright.serving:_app_from_env", factory=True, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]))
