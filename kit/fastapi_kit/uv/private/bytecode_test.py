"""wheel_bytecode: the .pyc it writes beside each source is what CPython imports, unvalidated.

The fixture (//uv/private:bytecode_samples) is a py_library whose data is its own bytecode, as
a wheel repository's `:pkg` is; this test imports it from the runfiles like any test would.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cached(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(importlib.util.cache_from_source(spec.origin))


def test_each_source_has_an_unchecked_hash_pyc_beside_it() -> None:
    pyc = _cached("bytecode_sample").read_bytes()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked at import


def test_the_interpreter_imports_the_pyc_instead_of_compiling() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run(
        [sys.executable, "-v", "-c", "import bytecode_sample; print(bytecode_sample.answer())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == "42\n"
    # importlib's verbose line for a module loaded from its bytecode.
    assert f"code object from '{_cached('bytecode_sample')}'" in run.stderr


def test_a_source_that_does_not_compile_gets_an_empty_pyc_and_fails_from_its_source() -> None:
    assert _cached("broken_sample").read_bytes() == b""
    with pytest.raises(SyntaxError) as err:
        importlib.import_module("broken_sample")
    assert err.value.filename is not None and err.value.filename.endswith("broken_sample.py")
    assert err.value.lineno == 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
