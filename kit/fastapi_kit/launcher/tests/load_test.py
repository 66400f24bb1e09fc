"""load_app: what loading an app built is frozen, and the collector is on afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi_kit_launcher import serve


@pytest.fixture(autouse=True)
def _thaw() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def _tracked(obj: object) -> bool:
    """Whether a collection can still scan `obj`: get_objects() leaves out frozen objects."""
    return any(o is obj for o in gc.get_objects())


def test_what_loading_built_is_frozen_and_the_collector_is_on() -> None:
    gc.disable()
    frozen_before = gc.get_freeze_count()
    app = serve.load_app("launcher_sample_app:create", factory=True)
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen_before
    assert not _tracked(app)
    assert not _tracked(app.router)
    # What is made after loading is collected as usual.
    later: list[object] = []
    assert _tracked(later)


def test_the_collector_is_on_after_a_failed_load() -> None:
    gc.disable()
    with pytest.raises(serve.AppLoadError, match="not an ASGI app"):
        serve.load_app("launcher_sample_app:broken", factory=False)
    assert gc.isenabled()
    with pytest.raises(serve.AppLoadError, match="No module named"):
        serve.load_app("no_such_module_here:app", factory=False)
    assert gc.isenabled()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
