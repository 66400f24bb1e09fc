"""A FastAPI app as a project has it: `app = FastAPI()` in app/main.py, nothing for the kit."""

from fastapi import FastAPI

app = FastAPI(title="fastapi-project")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
