"""`./bazelw run //:run`: run the image locally under runc, like `docker run -p 8000:8000`.

The container shares the host network, so it serves on the image's PORT (8000) unless PORT is
set. The app's variables set in your environment are passed through; Ctrl-C (or SIGTERM) stops
the container gracefully and removes it.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from runtime import bundle, container

# The app's configuration variables (see app/config.py), each also as <NAME>_FILE.
PASSTHROUGH = (
    "PORT",
    "HOST",
    "LOG_LEVEL",
    "WEB_CONCURRENCY",
    "FORWARDED_ALLOW_IPS",
    "TIMEOUT_GRACEFUL_SHUTDOWN",
    "TIMEOUT_KEEP_ALIVE",
    "LIMIT_CONCURRENCY",
    "DATABASE_PATH",
    "API_TOKEN",
    "LOOP",
    "HTTP",
)


def run_spec(environ: dict[str, str]) -> bundle.RunSpec:
    """The RunSpec for this environment: app variables passed, `_FILE` secrets mounted."""
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    # `bazel run` starts us in the runfiles tree: relative paths mean the user's directory.
    cwd = environ.get("BUILD_WORKING_DIRECTORY", ".")
    for name in PASSTHROUGH:
        if name in environ:
            env[name] = environ[name]
        secret = environ.get(f"{name}_FILE")
        if secret:
            secret = os.path.join(cwd, secret)
            if not os.path.isfile(secret):
                raise SystemExit(
                    f"error: {name}_FILE: no such file: {secret} (under ./bazelw, only files "
                    "inside the workspace are visible)"
                )
            inside = f"/run/secrets/{name.lower()}"
            files[inside] = os.path.abspath(secret)
            env[f"{name}_FILE"] = inside
    return bundle.RunSpec(env=env, files=files)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: run.py IMAGE_LAYOUT_DIR", file=sys.stderr)
        return 2
    spec = run_spec(dict(os.environ))
    with container.Container(argv[0], spec, stream=True) as c:

        def stop(signum: int, frame: FrameType | None) -> None:
            print("\nstopping the container (SIGTERM)...", file=sys.stderr)
            c.signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        code = c.wait(timeout=None)
    print(f"container exited with code {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
