"""Module extension: buildifier from its npm package, so style checks need no GitHub download."""

load("//tools/lint/private:buildifier.bzl", "buildifier_repository")

_package = tag_class(
    doc = "The @bazel/buildifier npm package to fetch.",
    attrs = {
        "name": attr.string(doc = "Name of the repository to create.", mandatory = True),
        "version": attr.string(doc = "Package version, e.g. 8.2.1.", mandatory = True),
        "integrity": attr.string(doc = "The package's npm `dist.integrity` (sha512-...).", mandatory = True),
    },
)

def _buildifier_impl(module_ctx):
    for mod in module_ctx.modules:
        for tag in mod.tags.package:
            buildifier_repository(name = tag.name, version = tag.version, integrity = tag.integrity)

buildifier = module_extension(
    doc = "Creates a repository exposing `:buildifier` for this machine's OS and CPU.",
    implementation = _buildifier_impl,
    tag_classes = {"package": _package},
)
