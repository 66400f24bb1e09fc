"""uv_lock_test: fails, naming the relock command, when a uv workspace input changed unlocked."""

load("@rules_python//python:defs.bzl", "py_test")

def uv_lock_test(name, lock, inputs, **kwargs):
    """A test that the lock's recorded inputs still have the recorded content.

    Args:
      name: The test.
      lock: The uv_workspace.lock.json that `@fastapi_kit//uv:lock` wrote.
      inputs: {path relative to the workspace root: label}: every pyproject.toml of the
        workspace (and uv.lock when the lock was made with `--frozen`).
      **kwargs: Passed to the py_test (size, tags, visibility).
    """
    py_test(
        name = name,
        srcs = [Label("//uv/private:check.py")],
        main = Label("//uv/private:check.py"),
        args = ["$(rlocationpath %s)" % lock] + [
            "%s=$(rlocationpath %s)" % (path, label)
            for path, label in sorted(inputs.items())
        ],
        data = [lock] + inputs.values(),
        deps = [Label("@kit_lib")],
        **kwargs
    )
