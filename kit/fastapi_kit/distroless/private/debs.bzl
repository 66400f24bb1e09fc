"""Repository rules for locked Debian packages: one repository per .deb, and a hub over them.

Each .deb is fetched by Bazel's downloader with the sha256 from distroless/packages.lock.json, so Bazel
checks every file, and `--distdir` or the repository cache can serve it with no network at all.
The mirror is never written in the repo: it comes from DEBIAN_MIRROR (./bazelw passes the one
from the machine's apt sources with --repo_env), and for packages of the security archive from
DEBIAN_SECURITY_MIRROR, by default `<DEBIAN_MIRROR>-security` (Debian's own layout).
"""

MIRROR_ENV = "DEBIAN_MIRROR"
SECURITY_MIRROR_ENV = "DEBIAN_SECURITY_MIRROR"

def _basename(filename):
    return filename.rsplit("/", 1)[-1]

def _deb_package_impl(rctx):
    mirror = rctx.os.environ.get(MIRROR_ENV, "").rstrip("/")
    if not mirror:
        fail("DEBIAN_MIRROR is not set: run through ./bazelw or pass --repo_env=DEBIAN_MIRROR=<Debian archive URL>")
    if rctx.attr.archive == "debian-security":
        mirror = rctx.os.environ.get(SECURITY_MIRROR_ENV, "").rstrip("/") or mirror + "-security"
    elif rctx.attr.archive != "debian":
        fail("{}: unknown archive {!r}; expected \"debian\" or \"debian-security\"".format(
            rctx.attr.filename,
            rctx.attr.archive,
        ))
    name = _basename(rctx.attr.filename)
    rctx.download(
        url = "{}/{}".format(mirror, rctx.attr.filename),
        output = name,
        sha256 = rctx.attr.sha256,
    )
    rctx.file("BUILD.bazel", """\
filegroup(
    name = "deb",
    srcs = ["{name}"],
    visibility = ["//visibility:public"],
)
""".format(name = name))

deb_package = repository_rule(
    doc = "Downloads one .deb from the Debian mirror in DEBIAN_MIRROR; `:deb` is the file.",
    implementation = _deb_package_impl,
    attrs = {
        "archive": attr.string(
            doc = "\"debian\" (the main archive) or \"debian-security\".",
            default = "debian",
        ),
        "filename": attr.string(
            doc = "Path of the .deb in the archive, from the Packages index (pool/main/...).",
            mandatory = True,
        ),
        "sha256": attr.string(doc = "Expected sha256 of the .deb, from the lock.", mandatory = True),
    },
    environ = [MIRROR_ENV, SECURITY_MIRROR_ENV],
)

def _deb_hub_impl(rctx):
    if len(rctx.attr.packages) != len(rctx.attr.repos):
        fail("deb_hub: packages and repos must have the same length")
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    lines.append("# Every locked .deb, in lock order.")
    lines.append("filegroup(")
    lines.append('    name = "debs",')
    lines.append("    srcs = [")
    for repo in rctx.attr.repos:
        lines.append('        "@{}//:deb",'.format(repo))
    lines.append("    ],")
    lines.append(")")
    for package, repo in zip(rctx.attr.packages, rctx.attr.repos):
        lines.append("")
        lines.append('alias(\n    name = "{}",\n    actual = "@{}//:deb",\n)'.format(package, repo))
    rctx.file("BUILD.bazel", "\n".join(lines) + "\n")

deb_hub = repository_rule(
    doc = "The `@debian` hub: `:debs` (all .debs in lock order) and one alias per package name.",
    implementation = _deb_hub_impl,
    attrs = {
        "packages": attr.string_list(doc = "Debian package names, in lock order.", mandatory = True),
        "repos": attr.string_list(doc = "Repository of each package, same order.", mandatory = True),
    },
)

def repo_name(hub, package):
    """Returns the repository name of one package: `<hub>_<package>`, with `+` and `:` made `_`.

    Args:
      hub: name of the hub repository, e.g. "debian".
      package: Debian package name, e.g. "libstdc++6".

    Returns:
      A valid repository name.
    """
    safe = ""
    for c in package.elems():
        safe += c if (c.isalnum() or c in "_-.") else "_"
    return "{}_{}".format(hub, safe)

def _check_entry(lock, i, entry):
    for key in ("name", "version", "arch", "sha256", "filename"):
        if type(entry.get(key)) != "string":
            fail("{}: entry {} has no string field '{}'".format(lock, i, key))
    if len(entry["sha256"]) != 64:
        fail("{}: {} has a malformed sha256".format(lock, entry["name"]))

def deb_repositories(module_ctx, hub, lock):
    """Declares one deb_package per lock entry and the hub repository.

    Args:
      module_ctx: the module extension context.
      hub: name of the hub repository.
      lock: label of the JSON lock file (a list of {name, version, arch, sha256, filename}).
    """
    entries = json.decode(module_ctx.read(module_ctx.path(lock)))
    if type(entries) != "list" or not entries:
        fail("{}: the lock must be a non-empty JSON list".format(lock))
    packages, repos = [], []
    for i, entry in enumerate(entries):
        _check_entry(lock, i, entry)
        repo = repo_name(hub, entry["name"])
        if repo in repos:
            fail("{}: package {} is listed twice".format(lock, entry["name"]))
        deb_package(
            name = repo,
            archive = entry.get("archive", "debian"),
            filename = entry["filename"],
            sha256 = entry["sha256"],
        )
        packages.append(entry["name"])
        repos.append(repo)
    deb_hub(name = hub, packages = packages, repos = repos)
