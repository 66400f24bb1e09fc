"""Rules that split a Python target into a venv layer and an app layer."""

load("//pyimage:paths.bzl", "own_files")

def _entries(files, placed):
    """Manifest entries: third-party files by runfiles path, placed files with their `dest`."""
    entries = [{"path": f.path, "short_path": f.short_path} for f in files]
    entries += [
        {"dest": dest, "path": f.path, "short_path": f.short_path}
        for dest, f in placed.items()
    ]
    return sorted(entries, key = lambda e: (e.get("dest", ""), e["short_path"]))

def _layer_impl(ctx, kind, prefix, extra_args, entries, files):
    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest.json")
    ctx.actions.write(manifest, json.encode(entries))
    if ctx.attr.compression not in ("gzip", "zstd"):
        fail("compression must be \"gzip\" or \"zstd\", got %r" % ctx.attr.compression)
    zstd = ctx.attr.compress and ctx.attr.compression == "zstd"
    suffix = (".tar.zst" if zstd else ".tar.gz") if ctx.attr.compress else ".tar"
    out = ctx.actions.declare_file(ctx.label.name + suffix)
    args = ctx.actions.args()
    args.add(kind)
    args.add("--manifest", manifest)
    args.add("--output", out)
    args.add("--prefix", prefix)
    args.add("--python", ctx.attr.python)
    args.add("--python-version", ctx.attr.python_version)
    tools = []
    if ctx.attr.compile:
        args.add("--compile")
        if ctx.file.compiler:
            args.add("--compiler", ctx.file.compiler)
            tools.append(ctx.file.compiler)
        if not getattr(ctx.attr, "debug_ranges", True):
            args.add("--no-debug-ranges")
        retention = getattr(ctx.attr, "precompile_source_retention", "keep_source")
        if retention not in ("keep_source", "omit_source"):
            fail("precompile_source_retention must be \"keep_source\" or \"omit_source\", got %r" % retention)
        if retention == "omit_source":
            args.add("--omit-source")
    elif getattr(ctx.attr, "precompile_source_retention", "keep_source") == "omit_source":
        fail("precompile_source_retention = \"omit_source\" needs compile = True: each module ships as source or as bytecode")
    args.add("--architecture", ctx.attr.architecture)
    if getattr(ctx.attr, "strip", False):
        strip = ctx.file._strip_aarch64 if ctx.attr.architecture == "arm64" else ctx.file._strip
        args.add("--strip", strip)
        tools.append(strip)
    if zstd:
        args.add("--zstd", ctx.file._zstd)
        tools.append(ctx.file._zstd)
    elif ctx.attr.compress:
        args.add("--gzip")
    args.add_all(getattr(ctx.attr, "exclude", []), before_each = "--exclude")
    args.add_all(extra_args)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = depset([manifest] + tools, transitive = [files]),
        outputs = [out],
        mnemonic = "PyLayer",
        progress_message = "Building %s layer %%{label}" % kind,
    )
    return [DefaultInfo(files = depset([out]))]

def _venv_impl(ctx):
    files = depset(transitive = [
        dep[DefaultInfo].default_runfiles.files
        for dep in ctx.attr.deps + ctx.attr.site_libs
    ])

    # Third-party files are recognised by their site-packages/ path; site_libs' own files are
    # placed in site-packages as their import root says. The wheels' bytecode for tests stays
    # out (never built for an image): the layer compiles its own, for the image's paths.
    third_party = [
        f
        for f in files.to_list()
        if f.short_path.startswith("../") and "/site-packages/" in f.short_path and "/__pycache__/" not in f.short_path
    ]
    placed = {}
    for lib in ctx.attr.site_libs:
        placed.update(own_files(lib, ctx.workspace_name))
    inputs = depset(third_party + placed.values())
    return _layer_impl(ctx, "venv", ctx.attr.prefix, [], _entries(third_party, placed), inputs)

def _app_impl(ctx):
    repos = {dep.label.workspace_name: True for dep in ctx.attr.deps}
    if len(repos) != 1:
        fail("py_app_layer: deps come from several repositories %s; give one app" % sorted(repos))
    placed = {}
    for dep in ctx.attr.deps:
        placed.update(own_files(dep, ctx.workspace_name))
    files = depset(placed.values())
    return _layer_impl(ctx, "app", ctx.attr.prefix, ["--venv", ctx.attr.venv], _entries([], placed), files)

_COMMON = {
    "architecture": attr.string(
        default = "amd64",
        values = ["amd64", "arm64"],
        doc = "The image's CPU (OCI name). Every ELF file in the layer must be built for it " +
              "(a wheel for another CPU fails the build), and arm64's are stripped with the " +
              "aarch64 binutils. Nothing is run for it: bytecode is portable.",
    ),
    "compress": attr.bool(
        default = True,
        doc = "Write `<name>.tar.gz` (deterministic gzip, in this layer's own action) rather " +
              "than a plain tar, which rules_oci keeps uncompressed.",
    ),
    "compression": attr.string(
        default = "gzip",
        doc = "With `compress`: gzip (`<name>.tar.gz`, level 6, what every runtime reads) or " +
              "zstd (`<name>.tar.zst`, level 9, through Debian's zstd program).",
    ),
    "compile": attr.bool(
        default = True,
        doc = "Add unchecked-hash .pyc files, so a read-only root needs no compiling at start-up.",
    ),
    "compiler": attr.label(
        allow_single_file = True,
        cfg = "exec",
        doc = "With `compile`: an interpreter of `python_version` that writes the bytecode " +
              "(e.g. `@python3_14//:python3.14`), when the build's Python is another version. " +
              "Default: the build's Python, which must then be `python_version`.",
    ),
    "deps": attr.label_list(
        doc = "Python targets (py_library or py_binary) whose runfiles make up the layer.",
        mandatory = True,
    ),
    "python": attr.string(
        default = "/usr/bin/python3.13",
        doc = "The image's interpreter, which the venv points at.",
    ),
    "python_version": attr.string(
        default = "3.13",
        doc = "Its version (major.minor); names lib/pythonX.Y/site-packages.",
    ),
    "_zstd": attr.label(
        default = "@zstd//:zstd",
        allow_single_file = True,
        cfg = "exec",
    ),
    "_tool": attr.label(
        default = "//pyimage/private:layers",
        executable = True,
        cfg = "exec",
    ),
}

py_venv_layer = rule(
    doc = """A layer with a real venv of the deps' third-party packages.

Holds only what rules_python installed for the deps' transitive closure (the runtime set), as
`<prefix>/lib/pythonX.Y/site-packages`, with `pyvenv.cfg` and `bin/python` -> the interpreter.
First-party files are never inputs: an app change does not rebuild this layer.""",
    implementation = _venv_impl,
    attrs = dict(
        _COMMON,
        debug_ranges = attr.bool(
            default = False,
            doc = "With `compile`: keep the column tables that point a traceback's `^^^` at " +
                  "one expression. Off by default: third-party bytecode without them is 5% " +
                  "smaller and gzips 20% smaller (Python's `-X no_debug_ranges`); tracebacks " +
                  "still name each file and line. First-party bytecode (py_app_layer) keeps them.",
        ),
        precompile_source_retention = attr.string(
            default = "keep_source",
            doc = "With `compile`, as rules_python's attribute of that name: \"keep_source\" " +
                  "ships each .py beside its `__pycache__` .pyc; \"omit_source\" ships " +
                  "`NAME.pyc` in place of `NAME.py` (about 5 MiB less for the FastAPI stack): " +
                  "tracebacks through third-party code show file and line but not the line's " +
                  "text, and code that reads its own source (`inspect.getsource`) fails. A module " +
                  "that does not compile keeps its source.",
        ),
        exclude = attr.string_list(
            default = ["*.pyi", "*.pyx", "*.pxd", "*.pxi", "*.c", "*.h", "*.cpp"],
            doc = "Globs (on the in-image path) of files left out: stubs and the sources of " +
                  "compiled extensions, which nothing imports at run time.",
        ),
        prefix = attr.string(
            default = "/opt/venv",
            doc = "Where the venv lives in the image.",
        ),
        site_libs = attr.label_list(
            doc = "First-party Python libraries installed into site-packages as if they were " +
                  "wheels (the kit's launcher), at their paths below their import root.",
        ),
        strip = attr.bool(
            default = True,
            doc = "Strip debug info from native extensions (binutils' `strip --strip-debug`).",
        ),
        _strip = attr.label(
            default = "@binutils_strip//:strip",
            allow_single_file = True,
            cfg = "exec",
        ),
        _strip_aarch64 = attr.label(
            default = "@binutils_strip_aarch64//:aarch64-linux-gnu-strip",
            allow_single_file = True,
            cfg = "exec",
        ),
    ),
)

py_app_layer = rule(
    doc = """A layer with the deps' first-party files under `prefix`, relative to their import root.

A file under a py_library's `imports` root lands at its path below that root (so
`examples/notes/app/main.py` with `imports = ["."]` is `<prefix>/app/main.py` and imports as
`app.main`); data files (templates, alembic.ini, migrations) come along the same way. A .py file
that does not compile fails the build, naming the file and line. Adds a `.pth` file to the venv's site-packages so `prefix` is on sys.path: `python -m app`
works from any working directory.""",
    implementation = _app_impl,
    attrs = dict(
        _COMMON,
        prefix = attr.string(default = "/app", doc = "Where first-party files go."),
        venv = attr.string(default = "/opt/venv", doc = "The venv to plug the app into."),
    ),
)
