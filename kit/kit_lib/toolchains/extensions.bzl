"""Module extensions for what comes from the machine: its Python 3.13 and other programs.

python-build-standalone interpreters cannot be downloaded here, so py_binary and py_test run on
the python3.X found on PATH (./bazelw's managed root provides python3.13). `host_binaries` does
the same for programs such as runc, strip or kustomize.
"""

load("//toolchains:host_binary.bzl", "host_binary")
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

_find = tag_class(
    doc = "A program to find on the machine when its repository is fetched.",
    attrs = {
        "name": attr.string(doc = "The repository to create, e.g. `runc` for `@runc//:runc`.", mandatory = True),
        "binaries": attr.string_list(doc = "Programs it exposes (default: [name]), e.g. [\"postgres\", \"initdb\"]."),
        "search": attr.string(doc = "A folder pattern with one `*` to look in instead of PATH."),
        "optional": attr.bool(
            doc = "For a program only some builds run (zstd for zstd layers): when it is missing, " +
                  "what runs it fails naming it, instead of every fetch.",
        ),
    },
)

def _host_binaries_impl(module_ctx):
    # Every module's tags meet in one extension: the kit and a project using it may both ask for
    # `@runc`. The same request makes one repository; a different one under that name fails.
    made = {}
    for mod in module_ctx.modules:
        for tag in mod.tags.find:
            want = struct(binaries = tag.binaries or [tag.name], search = tag.search, optional = tag.optional)
            if tag.name in made:
                if made[tag.name][0] != want:
                    fail("host_binaries: @{} is asked for by {} and, differently, by {}".format(
                        tag.name,
                        made[tag.name][1],
                        mod.name,
                    ))
                continue
            made[tag.name] = (want, mod.name)
            host_binary(name = tag.name, binaries = want.binaries, search = want.search, optional = want.optional)

host_binaries = module_extension(
    doc = "Programs Bazel cannot download here (./bazelw's managed root installs them from " +
          "Debian's locked packages), one repository per `find` tag, each program linked in as " +
          "`@<name>//:<program>`: actions and tests take it as an input, so its content, not a " +
          "PATH look-up, is part of their cache key. Fetching fails naming a missing program.",
    implementation = _host_binaries_impl,
    tag_classes = {"find": _find},
)
