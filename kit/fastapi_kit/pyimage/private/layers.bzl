"""Rules that split a Python target into a venv layer and an app layer."""

def _manifest(ctx, files):
    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest.json")
    ctx.actions.write(manifest, json.encode([
        {"path": f.path, "short_path": f.short_path}
        for f in sorted(files.to_list(), key = lambda f: f.short_path)
    ]))
    return manifest

def _layer_impl(ctx, kind, prefix, extra_args):
    files = depset(transitive = [
        dep[DefaultInfo].default_runfiles.files
        for dep in ctx.attr.deps
    ])
    manifest = _manifest(ctx, files)
    out = ctx.actions.declare_file(ctx.label.name + (".tar.gz" if ctx.attr.compress else ".tar"))
    args = ctx.actions.args()
    args.add(kind)
    args.add("--manifest", manifest)
    args.add("--output", out)
    args.add("--prefix", prefix)
    args.add("--python", ctx.attr.python)
    args.add("--python-version", ctx.attr.python_version)
    if ctx.attr.compile:
        args.add("--compile")
    if getattr(ctx.attr, "strip", False):
        args.add("--strip")
    if ctx.attr.compress:
        args.add("--gzip")
    args.add_all(getattr(ctx.attr, "exclude", []), before_each = "--exclude")
    args.add_all(extra_args)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = depset([manifest], transitive = [files]),
        outputs = [out],
        mnemonic = "PyLayer",
        progress_message = "Building %s layer %%{label}" % kind,
    )
    return [DefaultInfo(files = depset([out]))]

def _venv_impl(ctx):
    return _layer_impl(ctx, "venv", ctx.attr.prefix, [])

def _app_impl(ctx):
    extra = ["--venv", ctx.attr.venv]
    repos = {dep.label.workspace_name: True for dep in ctx.attr.deps}
    if len(repos) != 1:
        fail("py_app_layer: deps come from several repositories %s; give one app" % sorted(repos))
    repo = repos.keys()[0]
    if repo:
        # An app defined in another module: its files are ../<repo>/... in the runfiles.
        extra += ["--first-party", "../%s/" % repo]
    return _layer_impl(ctx, "app", ctx.attr.prefix, extra)

_COMMON = {
    "compress": attr.bool(
        default = True,
        doc = "Write `<name>.tar.gz` (deterministic gzip, in this layer's own action) rather " +
              "than a plain tar, which rules_oci keeps uncompressed.",
    ),
    "compile": attr.bool(
        default = True,
        doc = "Add unchecked-hash .pyc files, so a read-only root needs no compiling at start-up.",
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
    "_tool": attr.label(
        default = "//pyimage/private:layers",
        executable = True,
        cfg = "exec",
    ),
}

py_venv_layer = rule(
    doc = """A layer with a real venv of the deps' third-party packages.

Holds only what rules_python installed for the deps' transitive closure (the runtime set), as
`<prefix>/lib/pythonX.Y/site-packages`, with `pyvenv.cfg` and `bin/python` -> the interpreter.""",
    implementation = _venv_impl,
    attrs = dict(
        _COMMON,
        exclude = attr.string_list(
            default = ["*.pyi", "*.pyx", "*.pxd", "*.pxi", "*.c", "*.h", "*.cpp"],
            doc = "Globs (on the in-image path) of files left out: stubs and the sources of " +
                  "compiled extensions, which nothing imports at run time.",
        ),
        prefix = attr.string(
            default = "/opt/venv",
            doc = "Where the venv lives in the image.",
        ),
        strip = attr.bool(
            default = True,
            doc = "Strip debug info from native extensions (binutils' `strip --strip-debug`).",
        ),
    ),
)

py_app_layer = rule(
    doc = """A layer with the deps' first-party files under `prefix`.

Adds a `.pth` file to the venv's site-packages so `prefix` is on sys.path: `python -m app`
works from any working directory.""",
    implementation = _app_impl,
    attrs = dict(
        _COMMON,
        prefix = attr.string(default = "/app", doc = "Where first-party files go."),
        venv = attr.string(default = "/opt/venv", doc = "The venv to plug the app into."),
    ),
)
