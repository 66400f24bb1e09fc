"""`python -m fastapi_kit_launcher MODULE:ATTR`; see serve.py."""

import gc

if __name__ == "__main__":
    # No collections while the launcher, uvicorn and the app import: serve.load_app freezes
    # what they built and turns the collector on again.
    gc.disable()
    from fastapi_kit_launcher.serve import main

    raise SystemExit(main())
