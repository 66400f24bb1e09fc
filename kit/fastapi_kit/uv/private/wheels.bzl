"""Wheel repositories from uv_workspace.lock.json, fetched by hash through Bazel's downloader.

Each package becomes `@<hub>_<name>` holding its wheel and the wheel unpacked under
`site-packages/`, with the targets rules_python's pip.parse gives (`:pkg`, `:whl`, `:data`,
`:dist_info`), and `@<hub>` holds aliases and `requirements.bzl`, so a BUILD file cannot tell the
two apart. No process runs: a warm repository cache answers by sha256 alone, and only a miss
asks the package index (PIP_INDEX_URL, which ./bazelw takes from the machine's pip) for the
file's address. `:pkg` also carries the modules' bytecode, compiled by a cached build action
(bytecode.bzl) only when a test or binary needs it, never for an image.
"""

def clean(name):
    """A package name as a repository and target name: "Foo.Bar-baz" -> "foo_bar_baz".

    Args:
      name: A package name.

    Returns:
      The name in lower case, with `-` and `.` as `_`.
    """
    return name.replace("-", "_").replace(".", "_").lower()

def _index_url(rctx):
    index = rctx.os.environ.get("PIP_INDEX_URL", "").strip()
    if not index:
        fail(("uv.wheels: %s (%s) is not in the repository cache and PIP_INDEX_URL is not set: " +
              "run through ./bazelw, or give --repo_env=PIP_INDEX_URL=<simple index URL>") %
             (rctx.attr.file, rctx.attr.sha256))
    return index.rstrip("/") + "/"

def _join(base, href):
    """`href` from a simple-index page at `base`, as an absolute URL (RFC 3986, the usual cases)."""
    if "://" in href:
        return href
    scheme, _, rest = base.partition("://")
    host, _, path = rest.partition("/")
    if href.startswith("//"):
        return scheme + ":" + href
    if href.startswith("/"):
        return "%s://%s%s" % (scheme, host, href)
    parts = path.split("/")[:-1]  # the page's folder
    for part in href.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "%s://%s/%s" % (scheme, host, "/".join(parts))

def find_file_url(page, page_url, file, sha256):
    """The URL of `file` on a PEP 503 simple-index page, or None.

    An anchor whose path ends in `file` is taken; when it carries a `#sha256=` fragment, that
    must be `sha256` (the downloader checks the content again in any case).

    Args:
      page: The page's HTML.
      page_url: Where the page was read, for relative links.
      file: The wheel's file name.
      sha256: The wheel's locked sha256.

    Returns:
      The absolute URL, or None when no anchor names that file with that hash.
    """
    for chunk in page.split("href=")[1:]:
        quote = chunk[0]
        if quote not in ("\"", "'"):
            continue
        href = chunk[1:].split(quote, 1)[0].replace("&amp;", "&")
        address, _, fragment = href.partition("#")
        if address.split("?", 1)[0].rsplit("/", 1)[-1] != file:
            continue
        if fragment.startswith("sha256=") and fragment[len("sha256="):] != sha256:
            continue
        return _join(page_url, address)
    return None

_WHEEL_BUILD = """\
load("@fastapi_kit//uv/private:bytecode.bzl", "wheel_bytecode")
load("@rules_python//python:defs.bzl", "py_library")

package(default_visibility = ["//visibility:public"])

# {package} {version}: {file}, unpacked by @fastapi_kit//uv:extensions.bzl (uv.wheels).

filegroup(
    name = "dist_info",
    srcs = glob(["site-packages/*.dist-info/**"], allow_empty = True),
)

filegroup(
    name = "data",
    srcs = glob(["data/**"], allow_empty = True),
)

filegroup(
    name = "whl",
    srcs = ["{file}"],
    data = {whl_deps},
)

filegroup(
    name = "py_sources",
    srcs = glob(["site-packages/**/*.py"], allow_empty = True),
)

# The wheel's own .pyc files, if any, are left out: these are compiled here for {python}.
wheel_bytecode(
    name = "bytecode",
    srcs = [":py_sources"],
    python_version = "{python}",
)

py_library(
    name = "pkg",
    srcs = [":py_sources"],
    data = glob(
        ["site-packages/**/*"],
        exclude = ["**/* *", "**/*.dist-info/RECORD", "**/*.py", "**/*.pyc"],
        allow_empty = True,
    ) + [":bytecode"],
    imports = ["site-packages"],
    deps = {pkg_deps},
    tags = ["pypi_name={package}", "pypi_version={version}"],
)
"""

def _wheel_impl(rctx):
    file, sha256 = rctx.attr.file, rctx.attr.sha256

    # A lookup by hash alone: with no URL, the repository cache is all the downloader asks.
    if not rctx.download(url = [], output = file, sha256 = sha256, allow_fail = True).success:
        page_url = _index_url(rctx) + rctx.attr.package + "/"
        rctx.download(url = [page_url], output = "_index.html")
        url = find_file_url(rctx.read("_index.html"), page_url, file, sha256)
        rctx.delete("_index.html")
        if not url:
            fail("uv.wheels: %s: the index at %s does not list %s; run the relock command" %
                 (rctx.attr.package, page_url, file))
        rctx.download(url = [url], output = file, sha256 = sha256)

    # The downloader's extract knows zip by its extension only.
    rctx.symlink(file, "_wheel.zip")
    rctx.extract("_wheel.zip", output = "site-packages")

    # A wheel's <name>.data/purelib and platlib belong in site-packages itself (the wheel spec's
    # install scheme); scripts, headers and data are not importable and stay out.
    data_dir = "%s-%s.data" % (file.split("-")[0], file.split("-")[1])
    if rctx.path("site-packages/" + data_dir).exists:
        for scheme in ("purelib", "platlib"):
            if rctx.path("site-packages/%s/%s" % (data_dir, scheme)).exists:
                rctx.extract("_wheel.zip", output = "site-packages", stripPrefix = data_dir + "/" + scheme)
        if rctx.path("site-packages/%s/data" % data_dir).exists:
            rctx.extract("_wheel.zip", output = "data", stripPrefix = data_dir + "/data")
        rctx.delete("site-packages/" + data_dir)
    rctx.delete("_wheel.zip")

    prefix = rctx.attr.hub + "_"
    rctx.file("BUILD.bazel", _WHEEL_BUILD.format(
        file = file,
        package = rctx.attr.package,
        pkg_deps = repr(["@%s%s//:pkg" % (prefix, clean(d)) for d in rctx.attr.deps]),
        python = rctx.attr.python_version,
        version = rctx.attr.version,
        whl_deps = repr(["@%s%s//:whl" % (prefix, clean(d)) for d in rctx.attr.deps]),
    ))

wheel_repo = repository_rule(
    implementation = _wheel_impl,
    doc = "One locked wheel, fetched by sha256 and unpacked into site-packages/.",
    attrs = {
        "deps": attr.string_list(doc = "Packages this one imports, hubs' names (uv.lock's edges)."),
        "file": attr.string(mandatory = True, doc = "The wheel's file name."),
        "hub": attr.string(mandatory = True, doc = "The hub's name: dependencies are @<hub>_<dep>."),
        "package": attr.string(mandatory = True, doc = "The canonical package name."),
        "python_version": attr.string(
            default = "3.13",
            doc = "The Python the wheel is for (major.minor), which its bytecode is compiled for.",
        ),
        "sha256": attr.string(mandatory = True, doc = "The wheel's sha256, from the lock."),
        "version": attr.string(mandatory = True, doc = "The locked version."),
    },
)

_REQUIREMENTS = '''"""Locked wheels of {lock} for {platform}, as rules_python's pip.parse names them.

@generated by @fastapi_kit//uv:extensions.bzl (uv.wheels).
"""

_PACKAGES = {packages}

all_requirements = [str(Label("//:%s_pkg" % p)) for p in _PACKAGES]

all_whl_requirements = [str(Label("//:%s_whl" % p)) for p in _PACKAGES]

def _clean_name(name):
    return name.replace("-", "_").replace(".", "_").lower()

def _label(name, kind):
    if _clean_name(name) not in _PACKAGES:
        fail("{hub}: no wheel of %r for {platform} in {lock}; add it to pyproject.toml and run `{relock}`" % name)
    return str(Label("//:%s_%s" % (_clean_name(name), kind)))

def requirement(name):
    return _label(name, "pkg")

def whl_requirement(name):
    return _label(name, "whl")

def data_requirement(name):
    return _label(name, "data")

def dist_info_requirement(name):
    return _label(name, "dist_info")
'''

def _hub_impl(rctx):
    build = ["package(default_visibility = [\"//visibility:public\"])\n"]
    for name in rctx.attr.packages:
        for kind in ("pkg", "whl", "data", "dist_info"):
            build.append("alias(name = \"%s_%s\", actual = \"@%s_%s//:%s\")\n" % (name, kind, rctx.attr.hub, name, kind))
    rctx.file("BUILD.bazel", "\n".join(build))
    rctx.file("requirements.bzl", _REQUIREMENTS.format(
        hub = rctx.attr.hub,
        lock = rctx.attr.lock,
        packages = repr(rctx.attr.packages),
        platform = rctx.attr.platform,
        relock = rctx.attr.relock,
    ))

wheel_hub = repository_rule(
    implementation = _hub_impl,
    doc = "Aliases to each wheel repository, and requirements.bzl's requirement() and lists.",
    attrs = {
        "hub": attr.string(mandatory = True, doc = "The name the wheel repositories start with."),
        "lock": attr.string(mandatory = True, doc = "The lock's label, for messages."),
        "packages": attr.string_list(mandatory = True, doc = "Clean names of the hub's packages."),
        "platform": attr.string(mandatory = True, doc = "The lock's platform key, for messages."),
        "relock": attr.string(mandatory = True, doc = "The relock command, for messages."),
    },
)
