"""Repository rule that wraps a python3.X from PATH as a Python toolchain.

The interpreter is linked into the repository and named as the runtime's `interpreter` (an
in-build runtime, not an `interpreter_path`): every py_binary and py_test then takes it as an
input, so its content is part of their cache keys, and a different Python is a cache miss, not
a silent hit. It still finds its standard library from its real place (CPython resolves the link).
"""

_BUILD = """\
load("@rules_python//python:defs.bzl", "py_runtime", "py_runtime_pair")

py_runtime(
    name = "runtime",
    interpreter = "{binary}",
    python_version = "PY3",
    stub_shebang = "#!{interpreter}",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
    visibility = ["//visibility:public"],
)
"""

def _local_python_repository_impl(rctx):
    binary = "python" + rctx.attr.python_version
    interpreter = rctx.which(binary)
    if not interpreter:
        fail("{} not found on PATH: install Python {} or run Bazel through ./bazelw".format(
            binary,
            rctx.attr.python_version,
        ))
    result = rctx.execute([interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    if result.return_code != 0 or result.stdout.strip() != rctx.attr.python_version:
        fail("{} does not run as Python {}: {}".format(interpreter, rctx.attr.python_version, result.stderr.strip()))
    rctx.symlink(interpreter, binary)
    rctx.file("BUILD.bazel", _BUILD.format(interpreter = str(interpreter), binary = binary))

local_python_repository = repository_rule(
    doc = "A py_runtime and toolchain for the python3.X found on PATH at fetch time.",
    implementation = _local_python_repository_impl,
    attrs = {
        "python_version": attr.string(doc = "Major.minor version, e.g. 3.13.", mandatory = True),
    },
    environ = ["PATH"],
    local = True,
)
