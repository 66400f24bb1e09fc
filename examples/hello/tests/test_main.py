"""The hello app's routes, in-process (the kit's launcher and image have tests of their own)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_health() -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_hello() -> None:
    response = client.get("/hello/world")
    assert response.status_code == 200
    assert response.json()["message"] == "Hello, world!"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
