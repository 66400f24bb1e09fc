"""Module extension `deb`: fetch the Debian packages of a lock file with Bazel's downloader.

    deb = use_extension("//distroless:extensions.bzl", "deb")
    deb.lock(lock = "//distroless:packages.lock.json")
    use_repo(deb, "debian")

gives `@debian//:debs` (every .deb, in lock order) and `@debian//:<package>` (one .deb). The
mirror comes from DEBIAN_MIRROR (`--repo_env=DEBIAN_MIRROR=...`; ./bazelw sets it).
"""

load("//distroless/private:debs.bzl", "deb_repositories")

_lock = tag_class(
    doc = "A lock file made by `bazel run //distroless:lock`, and the hub repository to create for it.",
    attrs = {
        "lock": attr.label(
            doc = "JSON list of {name, version, arch, sha256, filename, depends}.",
            mandatory = True,
            allow_single_file = [".json"],
        ),
        "name": attr.string(doc = "Name of the hub repository.", default = "debian"),
    },
)

def _deb_impl(module_ctx):
    hubs = {}
    for mod in module_ctx.modules:
        for tag in mod.tags.lock:
            if tag.name in hubs:
                fail("deb.lock: hub '{}' is declared twice ({} and {})".format(
                    tag.name,
                    hubs[tag.name],
                    mod.name,
                ))
            hubs[tag.name] = mod.name
            deb_repositories(module_ctx, tag.name, tag.lock)

deb = module_extension(
    doc = "Creates one repository per locked .deb and a hub repository per `lock` tag.",
    implementation = _deb_impl,
    tag_classes = {"lock": _lock},
)
