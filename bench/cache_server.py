"""A throwaway Bazel remote cache: nginx with WebDAV PUT on 127.0.0.1, files in a temp folder.

Bazel's HTTP remote cache protocol is plain GET and PUT of /ac/<key> and /cas/<hash>, which
nginx's dav module serves as files, so a real server stands in for a team's shared cache. It
listens on loopback only and stops, with nginx, when it gets SIGTERM or SIGINT, when the
process named by --watch-pid is gone (the bench script died), or after --max-seconds; on the
way out it writes what the access log saw (hits, misses, uploads) to --stats.

Run with `./bazelw run //bench:cache_server -- --port-file FILE [--stats FILE]`; the port is
written to FILE (atomically) once a PUT, GET and DELETE round trip has worked. The files live
in a fresh folder under /tmp (not $TMPDIR: nginx's worker runs as "nobody" and must be able to
reach it), removed at exit.
"""

from __future__ import annotations

import argparse
import grp
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from kit_lib import runfiles
from runtime import container

from bench import _tools, common

WORKER_USER = "nobody"
LOG_FORMAT = "$request_method $uri $status $body_bytes_sent $content_length"
PROBE_PATH = "/probe/check"
START_ATTEMPTS = 3
START_TIMEOUT = 10.0


def nginx_conf(directory: Path, port: int, user: str, group: str) -> str:
    """The whole configuration: one loopback server, WebDAV writes, everything under `directory`."""
    temp = directory / "tmp"
    return f"""# Written by bench/cache_server.py for one benchmark run.
daemon off;
worker_processes 1;
user {user} {group};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{
    worker_connections 256;
}}
http {{
    log_format bench '{LOG_FORMAT}';
    access_log {directory}/access.log bench;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {directory}/cache;
        client_max_body_size 0;
        location / {{
            dav_methods PUT DELETE MKCOL;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
    }}
}}
"""


def access_stats(log: str) -> dict[str, Any]:
    """Counts per kind of request in our access log format ("GET ac 200" is a hit)."""
    counts: Counter[str] = Counter()
    uploaded = downloaded = 0
    for line in log.splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        method, uri, status, sent, received = parts
        if uri == PROBE_PATH:
            continue
        area = uri.strip("/").split("/", 1)[0] or "-"
        counts[f"{method} {area} {status}"] += 1
        if method == "PUT" and status in ("201", "204") and received.isdigit():
            uploaded += int(received)
        if method == "GET" and status == "200":
            downloaded += int(sent)
    ac_get = sum(n for k, n in counts.items() if k.startswith("GET ac "))
    ac_hits = counts.get("GET ac 200", 0)
    return {
        "requests": dict(sorted(counts.items())),
        "action_cache_gets": ac_get,
        "action_cache_hits": ac_hits,
        "bytes_uploaded": uploaded,
        "bytes_downloaded": downloaded,
    }


def _probe(port: int) -> bool:
    """PUT, GET and DELETE one object: True when the cache really stores and returns it."""
    body = b"bench probe"
    try:
        steps = (("PUT", body, 201), ("GET", None, 200), ("DELETE", None, 204))
        for method, data, want in steps:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request(method, PROBE_PATH, body=data)
                response = conn.getresponse()
                got = response.read()
            finally:
                conn.close()
            if response.status != want or (method == "GET" and got != body):
                return False
    except OSError:
        return False
    return True


class Server:
    """nginx in the foreground, as our child."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.nginx = str(runfiles.runfile(_tools.NGINX))
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> int:
        user = pwd.getpwnam(WORKER_USER)
        group = grp.getgrgid(user.pw_gid).gr_name
        for sub in ("cache", "tmp"):
            path = self.directory / sub
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, user.pw_uid, user.pw_gid)
        for _ in range(START_ATTEMPTS):
            # A free port may be taken between our check and nginx's bind: try again then.
            self.port = container.free_port()
            conf = self.directory / "nginx.conf"
            conf.write_text(nginx_conf(self.directory, self.port, WORKER_USER, group))
            log = (self.directory / "nginx.out").open("ab")
            cmd = [self.nginx, "-p", str(self.directory), "-e", str(self.directory / "error.log")]
            cmd += ["-c", str(conf)]
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if _probe(self.port):
                    return self.port
                time.sleep(0.05)
            self.stop()
        log = self.directory / "error.log"
        errors = log.read_text(errors="replace").strip() if log.exists() else ""
        last = errors.splitlines()[-1] if errors else "nothing in its error log"
        raise common.BenchError(f"nginx did not start: {last}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish uploads in flight
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def serve(args: argparse.Namespace) -> int:
    directory = Path(tempfile.mkdtemp(prefix="bench-cache-", dir="/tmp"))
    directory.chmod(0o755)
    server = Server(directory)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    code = 0
    try:
        port = server.start()
        port_file = Path(args.port_file)
        tmp = port_file.with_name(port_file.name + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(port_file)
        print(f"cache_server: nginx on http://127.0.0.1:{port}/ (files in {directory})")
        deadline = time.monotonic() + args.max_seconds
        while time.monotonic() < deadline:
            if not server.alive():
                print("cache_server: error: nginx exited", file=sys.stderr)
                code = 1
                break
            if args.watch_pid and not _pid_alive(args.watch_pid):
                break
            time.sleep(0.5)
    except _Stop:
        pass
    except (common.BenchError, OSError) as err:
        print(f"cache_server: error: {err}", file=sys.stderr)
        code = 1
    finally:
        # A second signal must not cut the clean-up short.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        server.stop()
    log = directory / "access.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    shutil.rmtree(directory, ignore_errors=True)
    if args.stats:
        common.write_json(Path(args.stats), access_stats(text))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cache_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True, help="where to write the port when ready")
    parser.add_argument("--stats", help="JSON file to write the access-log counts to at exit")
    parser.add_argument("--watch-pid", type=common.positive_int, help="stop when it is gone")
    parser.add_argument("--max-seconds", type=common.positive_float, default=3600.0)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
