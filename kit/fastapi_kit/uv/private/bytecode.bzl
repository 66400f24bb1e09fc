"""Bytecode for a wheel repository's modules, for the tests and binaries that import them.

A wheel's repository holds no .pyc, and a sandboxed test cannot keep what Python writes, so every
test that imports FastAPI or pytest would compile them from source again. `wheel_bytecode` writes
`__pycache__/<module>.<tag>.pyc` beside each source in one cached action per wheel, which the
wheel's `:pkg` carries as data: in runfiles the .pyc sits where the interpreter looks for it.
Images do not take these files (py_venv_layer compiles for the image's own paths).
"""

def _in_repository(f):
    """`f`'s path within its repository ("site-packages/fastapi/routing.py")."""
    return f.short_path.split("/", 2)[2] if f.short_path.startswith("../") else f.short_path

def _wheel_bytecode_impl(ctx):
    runtime = ctx.toolchains["@bazel_tools//tools/python:toolchain_type"].py3_runtime
    interpreter = runtime.interpreter or runtime.interpreter_path
    tools = runtime.files or depset()
    major, _, minor = ctx.attr.python_version.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        fail("wheel_bytecode: python_version must be major.minor (e.g. \"3.13\"), got %r" % ctx.attr.python_version)
    tag = "cpython-%s%s" % (major, minor)
    package = ctx.label.package + "/" if ctx.label.package else ""
    jobs = []
    outputs = []
    for src in ctx.files.srcs:
        path = _in_repository(src)
        if (src.owner.workspace_name, src.owner.package) != (ctx.label.workspace_name, ctx.label.package):
            fail("wheel_bytecode: %s is not in the package of %s: a .pyc goes beside its source" % (path, ctx.label))
        folder, _, name = path[len(package):].rpartition("/")
        pyc = ctx.actions.declare_file("%s__pycache__/%s.%s.pyc" % (
            folder + "/" if folder else "",
            name[:-len(".py")],
            tag,
        ))
        outputs.append(pyc)

        # Tracebacks name the file's path within its repository (CPython replaces it with the
        # path it imported from in any case), so the bytes do not depend on the output base.
        jobs.append([src.path, pyc.path, path])
    if not jobs:
        return [DefaultInfo()]
    jobs_file = ctx.actions.declare_file(ctx.label.name + ".jobs.json")
    ctx.actions.write(jobs_file, json.encode(jobs))
    ctx.actions.run(
        executable = interpreter,
        arguments = ["-I", "-S", ctx.file._compiler.path, "--jobs-file", jobs_file.path, "--cache-tag", tag],
        inputs = depset(ctx.files.srcs + [jobs_file, ctx.file._compiler]),
        tools = tools,  # the in-build interpreter itself is the executable
        outputs = outputs,
        mnemonic = "PyCompile",
        progress_message = "Byte-compiling %{label}",
    )
    return [DefaultInfo(files = depset(outputs), runfiles = ctx.runfiles(files = outputs))]

wheel_bytecode = rule(
    implementation = _wheel_bytecode_impl,
    doc = "Unchecked-hash .pyc files beside a wheel's sources, written by the Python toolchain.",
    attrs = {
        "python_version": attr.string(
            mandatory = True,
            doc = "The Python the wheels are locked for (\"3.13\"): the .pyc files' cache tag. " +
                  "The toolchain's interpreter must be that version, or the action fails naming both.",
        ),
        "srcs": attr.label_list(allow_files = [".py"], doc = "The wheel's .py files."),
        "_compiler": attr.label(
            default = "@kit_lib//:kit_lib/bytecode.py",
            allow_single_file = True,
        ),
    },
    toolchains = ["@bazel_tools//tools/python:toolchain_type"],
)
