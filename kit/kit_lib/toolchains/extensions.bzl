"""Module extension: a Python toolchain on the machine's own Python 3.13.

python-build-standalone interpreters cannot be downloaded here, so py_binary and py_test run on
the python3.X found on PATH (./bazelw's managed root provides python3.13).
"""

load("//toolchains/private:local_python.bzl", "local_python_repository")

_interpreter = tag_class(
    doc = "A local interpreter to register as the Python toolchain.",
    attrs = {
        "name": attr.string(doc = "Name of the repository to create.", mandatory = True),
        "python_version": attr.string(doc = "Major.minor version to find on PATH, e.g. 3.13.", mandatory = True),
    },
)

def _local_python_impl(module_ctx):
    for mod in module_ctx.modules:
        for tag in mod.tags.interpreter:
            local_python_repository(name = tag.name, python_version = tag.python_version)

local_python = module_extension(
    doc = "Creates one repository per `interpreter` tag, holding a py_runtime and its toolchain.",
    implementation = _local_python_impl,
    tag_classes = {"interpreter": _interpreter},
)
