"""`fastapi_image_args`: the macro's arguments checked at analysis time, and its entrypoint file.

The image depends on this target (its `entrypoint` is the file written here), so a bad argument
fails `bazel build` of the image with one line, and each check can be tested with analysistest.
"""

# The Pythons the kit has bases for (@fastapi_kit//distroless).
PYTHONS = ["3.13", "3.14"]

def _fail(message):
    fail("fastapi_image: " + message)

def _dotted(name):
    """Whether `name` is a dotted Python name like "app" or "app.main"."""
    for part in name.split("."):
        if not part or part[0].isdigit() or not part.replace("_", "a").isalnum():
            return False
    return True

def _fastapi_image_args_impl(ctx):
    module, asgi = ctx.attr.module, ctx.attr.asgi
    if bool(module) == bool(asgi):
        _fail("give exactly one of asgi = \"pkg.module:app\" (the kit's launcher) or module = \"pkg\" (your own server)")
    if asgi:
        mod, _, attr = asgi.partition(":")
        if not _dotted(mod) or not _dotted(attr):
            _fail("asgi must be \"pkg.module:attr\" like \"app.main:app\", got %r" % asgi)
    elif not _dotted(module):
        _fail("module must be a dotted Python name like \"app\" or \"services.hello\", got %r" % module)
    if ctx.attr.factory and not asgi:
        _fail("factory = True needs asgi = \"pkg.module:create_app\"")
    if ctx.attr.port < 1 or ctx.attr.port > 65535:
        _fail("port must be in 1..65535, got %d" % ctx.attr.port)
    if "PORT" in ctx.attr.env_keys:
        _fail("set the port with `port = ...`, not env PORT")
    if not ctx.attr.health_path.startswith("/"):
        _fail("health_path must start with \"/\", got %r" % ctx.attr.health_path)
    repository = ctx.attr.repository
    if "@" in repository or not repository.strip("/"):
        _fail("repository must be HOST[:PORT]/NAME without tag or digest, got %r" % repository)
    if ctx.attr.healthcheck_type not in ("NoneType", "list", "dict"):
        _fail("healthcheck must be None, a command list or a dict, got a %s" % ctx.attr.healthcheck_type)
    if ctx.attr.compression not in ("gzip", "zstd"):
        _fail("compression must be \"gzip\" or \"zstd\", got %r" % ctx.attr.compression)
    if ctx.attr.precompile_source_retention not in ("keep_source", "omit_source"):
        _fail("precompile_source_retention must be \"keep_source\" or \"omit_source\", got %r" % ctx.attr.precompile_source_retention)
    if ctx.attr.python not in PYTHONS:
        _fail("python must be one of %s, got %r" % (", ".join(['"%s"' % p for p in PYTHONS]), ctx.attr.python))
    if ctx.attr.wheels_problem:
        _fail("wheels must be platform_wheels(member, \"linux/amd64\", python = ...) (a dict of deps and wheels), got %s" % ctx.attr.wheels_problem)
    if ctx.attr.arm64_problem:
        _fail("arm64 must be platform_wheels(member, \"linux/arm64\") (a dict of deps and wheels), got %s" % ctx.attr.arm64_problem)
    out = ctx.actions.declare_file(ctx.label.name + ".entrypoint.txt")
    ctx.actions.write(out, ",".join(ctx.attr.entrypoint) + "\n")
    return [DefaultInfo(files = depset([out]))]

fastapi_image_args = rule(
    doc = "Checks fastapi_image's arguments; writes the entrypoint in rules_oci's file form.",
    implementation = _fastapi_image_args_impl,
    attrs = {
        "arm64_problem": attr.string(doc = "What is wrong with the macro's `arm64`, or \"\"."),
        "asgi": attr.string(doc = "The app the launcher serves, \"pkg.module:attr\", or \"\"."),
        "compression": attr.string(doc = "The macro's `compression`.", mandatory = True),
        "entrypoint": attr.string_list(doc = "The image's entrypoint.", mandatory = True),
        "factory": attr.bool(doc = "Whether `asgi` names a factory."),
        "env_keys": attr.string_list(doc = "The keys of the macro's `env`."),
        "health_path": attr.string(doc = "The runtime test's probe path.", mandatory = True),
        "healthcheck_type": attr.string(doc = "type() of the macro's `healthcheck`.", mandatory = True),
        "module": attr.string(doc = "The module run with `python -m`, or \"\"."),
        "port": attr.int(doc = "The port the app serves on.", mandatory = True),
        "precompile_source_retention": attr.string(doc = "The macro's `precompile_source_retention`.", mandatory = True),
        "python": attr.string(doc = "The macro's `python`.", mandatory = True),
        "repository": attr.string(doc = "Where :push pushes to.", mandatory = True),
        "wheels_problem": attr.string(doc = "What is wrong with the macro's `wheels`, or \"\"."),
    },
)
