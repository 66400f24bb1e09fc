"""Module extension: programs from the machine: kustomize and kubectl for //deploy, PostgreSQL.

Bazel cannot download them here; ./bazelw's managed root installs them from Debian. Each `find`
tag makes a repository named after the program whose default target is the program itself, e.g.
`@kustomize` (= `@kustomize//:kustomize`); `binaries` adds others from the same place. Fetching
fails with a clear message if one is absent.
"""

load("@kit_lib//toolchains:host_binary.bzl", "host_binary")

_find = tag_class(
    doc = "A program to find on PATH when its repository is fetched.",
    attrs = {
        "name": attr.string(doc = "The program, and the name of its repository.", mandatory = True),
        "binaries": attr.string_list(doc = "More programs from the same place, e.g. initdb."),
        "search": attr.string(doc = "A folder pattern with one `*` to look in instead of PATH."),
    },
)

def _host_binaries_impl(module_ctx):
    for mod in module_ctx.modules:
        for tag in mod.tags.find:
            host_binary(name = tag.name, binaries = [tag.name] + tag.binaries, search = tag.search)

host_binaries = module_extension(
    doc = "Creates one repository per `find` tag, exposing programs found on the machine.",
    implementation = _host_binaries_impl,
    tag_classes = {"find": _find},
)
