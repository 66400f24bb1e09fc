"""The production launcher every fastapi_image gets: `python -m fastapi_kit_launcher pkg.mod:app`.

It reads the server's settings from the environment (each also as `<NAME>_FILE`), refuses bad
values before binding, and runs uvicorn with limits that hold for any app: a maximum request
body, a maximum header size with either HTTP parser, and a deadline for requests that never
finish arriving. The app's own settings are its business: the environment passes through.
"""
