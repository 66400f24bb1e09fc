"""Module extension: kustomize and kubectl from the machine, for //deploy.

Bazel cannot download them here; ./bazelw's managed root installs both from Debian. Each `find`
tag makes a repository named after the program whose default target is the program itself, e.g.
`@kustomize` (= `@kustomize//:kustomize`). Fetching fails with a clear message if it is absent.
"""

load("//deploy/private:host_binary.bzl", "host_binary")

_find = tag_class(
    doc = "A program to find on PATH when its repository is fetched.",
    attrs = {
        "name": attr.string(doc = "The program, and the name of its repository.", mandatory = True),
    },
)

def _host_binaries_impl(module_ctx):
    for mod in module_ctx.modules:
        for tag in mod.tags.find:
            host_binary(name = tag.name, binary = tag.name)

host_binaries = module_extension(
    doc = "Creates one repository per `find` tag, exposing a program found on PATH.",
    implementation = _host_binaries_impl,
    tag_classes = {"find": _find},
)
