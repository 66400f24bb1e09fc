"""Repository rule: the buildifier binary out of the @bazel/buildifier npm tarball.

The registry comes from NPM_CONFIG_REGISTRY (npm's own variable; ./bazelw sets it from the
machine's npm configuration), so no registry host is written into the repo.
"""

_ARCH = {"amd64": "amd64", "x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

def _buildifier_repository_impl(rctx):
    registry = rctx.os.environ.get("NPM_CONFIG_REGISTRY", "").rstrip("/")
    if not registry:
        fail("NPM_CONFIG_REGISTRY is not set: point it at your npm registry (./bazelw sets it from `npm config get registry`)")
    os_name = "darwin" if "mac" in rctx.os.name else "linux"
    arch = _ARCH.get(rctx.os.arch)
    if not arch:
        fail("buildifier: no binary for CPU {}".format(rctx.os.arch))
    rctx.download_and_extract(
        url = "{}/@bazel/buildifier/-/buildifier-{}.tgz".format(registry, rctx.attr.version),
        integrity = rctx.attr.integrity,
        stripPrefix = "package",
    )
    rctx.symlink("buildifier-{}_{}".format(os_name, arch), "buildifier")
    rctx.file("BUILD.bazel", 'exports_files(["buildifier"], visibility = ["//visibility:public"])\n')

buildifier_repository = repository_rule(
    doc = "Fetches @bazel/buildifier from the npm registry and exposes `:buildifier`.",
    implementation = _buildifier_repository_impl,
    attrs = {
        "version": attr.string(doc = "Package version.", mandatory = True),
        "integrity": attr.string(doc = "npm dist.integrity of the tarball.", mandatory = True),
    },
    environ = ["NPM_CONFIG_REGISTRY"],
)
