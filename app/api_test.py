"""HTTP-level tests of the app: probes, version, every todo operation, auth and validation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import APP_NAME, __version__, build_info
from app.auth import WRITES_DISABLED
from app.config import Settings
from app.main import create_app
from app.todos import DESCRIPTION_MAX_LENGTH, LIST_LIMIT_MAX, TITLE_MAX_LENGTH

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TODOS = "/api/v1/todos"


@pytest.fixture(autouse=True)
def no_build_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point build info at a file that does not exist yet; tests may write it."""
    path = tmp_path / "build_info.json"
    monkeypatch.setattr(build_info, "BUILD_INFO_PATH", path)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A nested path checks that start-up creates the parent directories.
    return Settings(database_path=tmp_path / "nested" / "dir" / "todos.db", api_token=TOKEN)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "write tests")
    response = client.post(TODOS, json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- probes and version ------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_does_not_need_startup(settings: Settings) -> None:
    # Without `with`, TestClient does not run the lifespan.
    assert TestClient(create_app(settings)).get("/health").status_code == 200


def test_ready_after_startup(client: TestClient, settings: Settings) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert settings.database_path.is_file()


def test_not_ready_before_startup(settings: Settings) -> None:
    response = TestClient(create_app(settings)).get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert not settings.database_path.exists()


def test_not_ready_after_shutdown(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as test_client:
        assert test_client.get("/ready").status_code == 200
    assert TestClient(app).get("/ready").status_code == 503


def test_not_ready_when_database_is_gone(client: TestClient, settings: Settings) -> None:
    for path in settings.database_path.parent.iterdir():
        path.unlink()
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "database unavailable"}
    # The probe must not have re-created an empty database.
    assert not settings.database_path.exists()


def test_database_errors_answer_503(client: TestClient, settings: Settings) -> None:
    for path in settings.database_path.parent.iterdir():
        path.unlink()
    response = client.get(TODOS)
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable"}


def test_startup_fails_when_database_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    app = create_app(Settings(database_path=blocker / "todos.db"))
    with pytest.raises(OSError), TestClient(app):
        pass


def test_version_without_build_info(client: TestClient) -> None:
    response = client.get("/version")
    assert response.status_code == 200
    assert response.json() == {"name": APP_NAME, "version": __version__, "revision": "unknown"}


def test_version_with_build_info(settings: Settings, no_build_info: Path) -> None:
    no_build_info.write_text(
        json.dumps({"version": "1.2.3", "revision": "0123abc", "extra": 1}), encoding="utf-8"
    )
    with TestClient(create_app(settings)) as test_client:
        response = test_client.get("/version")
        openapi = test_client.get("/openapi.json").json()
    assert response.json() == {"name": APP_NAME, "version": "1.2.3", "revision": "0123abc"}
    assert openapi["info"]["version"] == "1.2.3"


def test_version_with_partial_build_info(settings: Settings, no_build_info: Path) -> None:
    no_build_info.write_text(json.dumps({"revision": "deadbeef"}), encoding="utf-8")
    with TestClient(create_app(settings)) as test_client:
        body = test_client.get("/version").json()
    assert body == {"name": APP_NAME, "version": __version__, "revision": "deadbeef"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"version": 3}', "'version' must be a non-empty one-line string"),
        ('{"revision": ""}', "'revision' must be a non-empty one-line string"),
    ],
)
def test_malformed_build_info_is_an_error(
    settings: Settings, no_build_info: Path, content: str, problem: str
) -> None:
    no_build_info.write_text(content, encoding="utf-8")
    with pytest.raises(build_info.BuildInfoError, match=problem):
        create_app(settings)


# --- todo operations ---------------------------------------------------------------------------


def test_create_returns_201_with_location(client: TestClient) -> None:
    response = client.post(
        TODOS, json={"title": "  buy milk ", "description": "2 litres"}, headers=AUTH
    )
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "buy milk"
    assert body["description"] == "2 litres"
    assert body["done"] is False
    assert isinstance(body["id"], int)
    assert body["created_at"] == body["updated_at"]
    assert response.headers["location"].endswith(f"{TODOS}/{body['id']}")
    assert client.get(response.headers["location"]).json() == body


def test_get_and_list(client: TestClient) -> None:
    first = _create(client, title="one")
    second = _create(client, title="two", done=True)
    assert client.get(f"{TODOS}/{second['id']}").json() == second
    response = client.get(TODOS)
    assert response.status_code == 200
    assert response.json() == [first, second]


def test_list_is_empty_at_first(client: TestClient) -> None:
    assert client.get(TODOS).json() == []


def test_list_pagination(client: TestClient) -> None:
    created = [_create(client, title=f"todo {n}") for n in range(5)]
    assert client.get(TODOS, params={"limit": 2}).json() == created[:2]
    assert client.get(TODOS, params={"limit": 2, "offset": 2}).json() == created[2:4]
    assert client.get(TODOS, params={"offset": 4}).json() == created[4:]
    assert client.get(TODOS, params={"offset": 10}).json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": LIST_LIMIT_MAX + 1},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 2**63},
    ],
)
def test_list_rejects_bad_paging(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get(TODOS, params=params).status_code == 422


def test_list_accepts_maximum_limit(client: TestClient) -> None:
    assert client.get(TODOS, params={"limit": LIST_LIMIT_MAX}).status_code == 200


def test_patch_changes_only_given_fields(client: TestClient) -> None:
    todo = _create(client, title="draft", description="keep me")
    response = client.patch(f"{TODOS}/{todo['id']}", json={"done": True}, headers=AUTH)
    assert response.status_code == 200
    patched = response.json()
    assert patched["done"] is True
    assert patched["title"] == "draft"
    assert patched["description"] == "keep me"
    assert patched["created_at"] == todo["created_at"]
    assert patched["updated_at"] > todo["updated_at"]
    assert client.get(f"{TODOS}/{todo['id']}").json() == patched


def test_patch_can_clear_description(client: TestClient) -> None:
    todo = _create(client, description="old")
    response = client.patch(f"{TODOS}/{todo['id']}", json={"description": None}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["description"] is None


def test_empty_patch_changes_nothing(client: TestClient) -> None:
    todo = _create(client)
    response = client.patch(f"{TODOS}/{todo['id']}", json={}, headers=AUTH)
    assert response.status_code == 200
    assert response.json() == todo


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"done": None},
        {"title": ""},
        {"title": "   "},
        {"done": "yes"},
        {"owner": "me"},
    ],
)
def test_patch_rejects_invalid(client: TestClient, body: dict[str, Any]) -> None:
    todo = _create(client)
    response = client.patch(f"{TODOS}/{todo['id']}", json=body, headers=AUTH)
    assert response.status_code == 422
    assert client.get(f"{TODOS}/{todo['id']}").json() == todo


def test_put_replaces_all_fields(client: TestClient) -> None:
    todo = _create(client, title="old", description="old text", done=True)
    response = client.put(f"{TODOS}/{todo['id']}", json={"title": "new"}, headers=AUTH)
    assert response.status_code == 200
    replaced = response.json()
    assert replaced["id"] == todo["id"]
    assert replaced["title"] == "new"
    assert replaced["description"] is None
    assert replaced["done"] is False


def test_put_requires_title(client: TestClient) -> None:
    todo = _create(client)
    response = client.put(f"{TODOS}/{todo['id']}", json={"done": True}, headers=AUTH)
    assert response.status_code == 422


def test_delete(client: TestClient) -> None:
    todo = _create(client)
    response = client.delete(f"{TODOS}/{todo['id']}", headers=AUTH)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{TODOS}/{todo['id']}").status_code == 404
    assert client.delete(f"{TODOS}/{todo['id']}", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"done": True}), ("PUT", {"title": "x"}), ("DELETE", None)],
)
def test_unknown_id_is_404(client: TestClient, method: str, body: dict[str, Any] | None) -> None:
    _create(client)
    response = client.request(method, f"{TODOS}/999", json=body, headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"detail": "todo not found"}


@pytest.mark.parametrize("todo_id", ["abc", "0", "-1", str(2**63)])
def test_bad_id_is_422(client: TestClient, todo_id: str) -> None:
    assert client.get(f"{TODOS}/{todo_id}").status_code == 422


def test_data_survives_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as test_client:
        todo = _create(test_client, title="persistent")
    with TestClient(create_app(settings)) as test_client:
        assert test_client.get(f"{TODOS}/{todo['id']}").json() == todo


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * (TITLE_MAX_LENGTH + 1)},
        {"title": 5},
        {"title": "ok", "description": "x" * (DESCRIPTION_MAX_LENGTH + 1)},
        {"title": "ok", "done": "true"},
        {"title": "ok", "done": 1},
        {"title": "ok", "id": 7},
    ],
)
def test_create_rejects_invalid(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post(TODOS, json=body, headers=AUTH)
    assert response.status_code == 422
    assert client.get(TODOS).json() == []


def test_create_accepts_maximum_lengths(client: TestClient) -> None:
    body = {"title": "t" * TITLE_MAX_LENGTH, "description": "d" * DESCRIPTION_MAX_LENGTH}
    assert client.post(TODOS, json=body, headers=AUTH).status_code == 201


def test_create_rejects_non_json(client: TestClient) -> None:
    response = client.post(
        TODOS, content=b"title=x", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert response.status_code == 422


# --- authorization -----------------------------------------------------------------------------

WRITES = [
    ("POST", TODOS, {"title": "x"}),
    ("PATCH", f"{TODOS}/1", {"done": True}),
    ("PUT", f"{TODOS}/1", {"title": "x"}),
    ("DELETE", f"{TODOS}/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer"},
        # Not ASCII: must be a clean 401, not a TypeError from compare_digest.
        {"Authorization": "Bearer ñ".encode("latin-1")},
    ],
)
def test_writes_without_valid_token_are_401(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str | bytes],
) -> None:
    todo = _create(client, title="untouched")
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get(TODOS).json() == [todo]


def test_auth_is_checked_before_validation(client: TestClient) -> None:
    response = client.post(TODOS, json={"title": ""})
    assert response.status_code == 401


def test_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.post(TODOS, json={"title": "x"}, headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 201


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_disabled_without_configured_token(
    tmp_path: Path, method: str, path: str, body: dict[str, Any] | None
) -> None:
    app = create_app(Settings(database_path=tmp_path / "todos.db"))
    with TestClient(app) as test_client:
        response = test_client.request(method, path, json=body, headers=AUTH)
        assert response.status_code == 503
        assert response.json() == {"detail": WRITES_DISABLED}
        # Reads stay public.
        assert test_client.get(TODOS).status_code == 200


def test_reads_are_public(client: TestClient) -> None:
    todo = _create(client)
    assert client.get(TODOS).status_code == 200
    assert client.get(f"{TODOS}/{todo['id']}").status_code == 200


def test_openapi_marks_writes_as_bearer_protected(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "security" in paths[TODOS]["post"]
    assert "security" not in paths[TODOS]["get"]


def test_openapi_documents_401_and_503_on_every_write(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    writes = [(TODOS, "post")] + [(f"{TODOS}/{{todo_id}}", m) for m in ("put", "patch", "delete")]
    for path, method in writes:
        assert {"401", "503"} <= set(paths[path][method]["responses"]), (path, method)


def test_patch_schema_offers_null_only_where_it_is_accepted(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["TodoPatch"]
    props = schema["properties"]

    def nullable(prop: dict[str, Any]) -> bool:
        return any(option.get("type") == "null" for option in prop.get("anyOf", [prop]))

    assert not nullable(props["title"]) and not nullable(props["done"])
    assert nullable(props["description"])
    todo = _create(client)
    url = f"{TODOS}/{todo['id']}"
    assert client.patch(url, json={"title": None}, headers=AUTH).status_code == 422
    assert client.patch(url, json={"description": None}, headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        '{"title": "x", "done": NaN}',
        '{"title": "x", "done": Infinity}',
        '{"title": "x", "done": -Infinity}',
        '{"title": "\\ud800"}',
        '{"title": "ok", "description": "\\udfff tail"}',
    ],
)
def test_inputs_json_cannot_echo_are_422_not_500(client: TestClient, raw: str) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post(TODOS, content=raw.encode(), headers=headers)
    assert response.status_code == 422, response.text
    json.loads(response.text)  # a valid JSON body, whatever the input was
    todo = _create(client)
    patched = client.patch(f"{TODOS}/{todo['id']}", content=raw.encode(), headers=headers)
    assert patched.status_code == 422


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
