"""The built-in container-structure-test config of fastapi_image, derived from the macro's args.

It is written at analysis time from the same values the image is built from, so the check cannot
drift from the image; a mistake in the macro (or in oci_image) shows up as a failing test.
"""

load("//pyimage:paths.bzl", "own_files")

# Shells and shell-like tools that a distroless image must not have (they would let an attacker
# who gets code execution run arbitrary commands, and `CMD-SHELL` healthchecks would silently work).
_SHELLS = [
    "/bin/sh",
    "/bin/bash",
    "/bin/dash",
    "/bin/busybox",
    "/usr/bin/sh",
    "/usr/bin/bash",
    "/usr/bin/dash",
]

def _module_file(ctx):
    """The app's file that the entrypoint imports or runs, relative to the app prefix."""
    if ctx.attr.asgi:
        module = ctx.attr.asgi.partition(":")[0]
        base = module.replace(".", "/")
        candidates = [base + ".py", base + "/__init__.py"]
        what = "the launcher could not import %s" % ctx.attr.asgi
    else:
        module = ctx.attr.module
        base = module.replace(".", "/")
        candidates = [base + "/__main__.py", base + ".py"]
        what = "`python -m %s` would fail in the image" % module
    in_image = own_files(ctx.attr.app, ctx.workspace_name)
    for candidate in candidates:
        if candidate in in_image:
            return candidate
    fail("%s: %s has neither %s nor %s (paths below its imports root); %s" % (
        module,
        ctx.attr.app.label,
        candidates[0],
        candidates[1],
        what,
    ))

def _exists(name, path, should_exist = True):
    return {"name": name, "path": path, "shouldExist": should_exist}

def _values(mapping):
    """metadataTest entries: exact values, or a non-blank regex where the build fills them in."""
    entries = []
    for key, value in mapping.items():
        # `{KEY}` (stamped) and `$KEY` (expanded by oci_image) are not known at analysis time.
        if "{" in value or "$" in value:
            entries.append({"key": key, "value": "\\S", "isRegex": True})
        else:
            entries.append({"key": key, "value": value})
    return entries

def _structure_config_impl(ctx):
    module_file = _module_file(ctx)
    venv = ctx.attr.venv
    site = "%s/lib/python%s/site-packages" % (venv, ctx.attr.python_version)
    uid, _, gid = ctx.attr.user.partition(":")

    # How a library module ships: its source, or only its bytecode.
    library = ".pyc" if ctx.attr.precompile_source_retention == "omit_source" else ".py"
    config = {
        "schemaVersion": "2.0.0",
        "metadataTest": {
            "user": ctx.attr.user,
            "workdir": ctx.attr.workdir,
            "entrypoint": ctx.attr.entrypoint,
            # Setting the entrypoint drops any base cmd.
            "cmd": [],
            # The tar driver lists ports without their protocol.
            "exposedPorts": [str(ctx.attr.port)],
            "envVars": _values(ctx.attr.env),
            "labels": _values(ctx.attr.labels),
        },
        "fileExistenceTests": [
            _exists("venv python", venv + "/bin/python"),
            _exists("the base's Python %s" % ctx.attr.python_version, "/usr/bin/python" + ctx.attr.python_version),
            _exists("pyvenv.cfg", venv + "/pyvenv.cfg"),
            _exists("app on the venv's sys.path", site + "/_app.pth"),
            _exists("the app's entry module", ctx.attr.workdir + "/" + module_file),
            _exists("no pip in the venv", venv + "/bin/pip", False),
            _exists("no pip3 in the venv", venv + "/bin/pip3", False),
            _exists("no pip in site-packages", site + "/pip", False),
        ] + [_exists("no shell " + shell, shell, False) for shell in _SHELLS] + ([
            _exists("the kit's launcher", site + "/fastapi_kit_launcher/serve" + library),
            _exists("uvicorn, which the launcher runs (add it to the app's dependencies)", site + "/uvicorn/__init__" + library),
        ] if ctx.attr.asgi else []),
        "fileContentTests": [
            {
                "name": "venv isolated from the system site-packages",
                "path": venv + "/pyvenv.cfg",
                "expectedContents": ["(?m)^include-system-site-packages = false$"],
            },
            {
                "name": "app prefix on sys.path",
                "path": site + "/_app.pth",
                "expectedContents": ["(?m)^%s$" % ctx.attr.workdir],
            },
            {
                "name": "user %s exists" % ctx.attr.user,
                "path": "/etc/passwd",
                "expectedContents": ["(?m)^[^:]+:x:%s:%s:" % (uid, gid or uid)],
            },
        ],
    }

    # JSON is YAML: a .yaml name makes container-structure-test apply its YAML defaults (a JSON
    # config would check uid/gid 0, which the tar driver cannot).
    out = ctx.actions.declare_file(ctx.label.name + ".yaml")
    ctx.actions.write(out, json.encode_indent(config, indent = "  ") + "\n")
    return [DefaultInfo(files = depset([out]))]

fastapi_structure_config = rule(
    doc = """Writes `<name>.yaml`: a container-structure-test config (in JSON, which is YAML).

Checks what the macro promises: user, workdir, entrypoint, no cmd, the exposed port, the
environment and labels (exact values; a non-blank regex for stamped `{KEY}` or `$VAR` values), the
venv and the app module present, no shell and no pip. Fails at analysis time when the app has no
file for `python -m <module>`.""",
    implementation = _structure_config_impl,
    attrs = {
        "app": attr.label(
            doc = "The app's py_library; its runfiles must hold the module's file.",
            mandatory = True,
        ),
        "asgi": attr.string(doc = "The launcher's \"pkg.module:attr\", or \"\" with `module`."),
        "entrypoint": attr.string_list(doc = "The image's exec-form entrypoint.", mandatory = True),
        "env": attr.string_dict(doc = "The image's environment, as given to oci_image."),
        "precompile_source_retention": attr.string(
            default = "keep_source",
            doc = "The macro's: with \"omit_source\", library modules are checked as `NAME.pyc`.",
        ),
        "labels": attr.string_dict(doc = "The image's labels, as given to oci_image."),
        "module": attr.string(doc = "The module run with `python -m`, or \"\" with `asgi`."),
        "port": attr.int(doc = "The exposed TCP port.", mandatory = True),
        "python_version": attr.string(
            default = "3.13",
            doc = "The venv's Python major.minor (names lib/pythonX.Y/site-packages).",
        ),
        "user": attr.string(doc = "The image's UID:GID.", mandatory = True),
        "venv": attr.string(default = "/opt/venv", doc = "Where the venv layer puts the venv."),
        "workdir": attr.string(doc = "Working directory, also the app prefix.", mandatory = True),
    },
)
