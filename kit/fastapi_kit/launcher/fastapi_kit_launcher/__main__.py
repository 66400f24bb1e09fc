"""`python -m fastapi_kit_launcher MODULE:ATTR`; see serve.py."""

from fastapi_kit_launcher.serve import main

if __name__ == "__main__":
    raise SystemExit(main())
