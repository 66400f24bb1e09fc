"""``python -m app``: run the server (also the ``main`` of the Bazel ``py_binary``).

The import is absolute because Bazel runs this file as a script, not as part of the package.
"""

from app.server import main

if __name__ == "__main__":
    raise SystemExit(main())
