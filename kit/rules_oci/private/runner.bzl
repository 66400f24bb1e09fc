"""The `bazel run` scripts of oci_load, oci_push, cosign_sign and cosign_attest.

Each is a short bash script that runs the tool's main .py file with the registered Python
toolchain's interpreter, on the import path a py_binary's launcher would give it (the runfiles
root and each repository in it). It skips that launcher, a second Python start that searches
the runfiles and costs more than the push of an unchanged image. Nothing is looked up on PATH.
"""

_TEMPLATE = """#!/usr/bin/env bash
# Generated for {label}: {what}.
set -euo pipefail
# Paths are canonical runfiles paths: no runfiles library (its repo-mapping look-ups fork).
r="${{RUNFILES_DIR:-$0.runfiles}}"
[[ -d $r ]] || {{ echo "{label}: error: no runfiles folder $r (run it with bazel run)" >&2; exit 1; }}
path=$r
for d in "$r"/*/; do path+=":${{d%/}}"; done
{prelude}
# Python may cache the tool's bytecode beside its sources (ignored where it cannot), so a second
# run does not compile them again.
PYTHONDONTWRITEBYTECODE= PYTHONPATH=$path PYTHONSAFEPATH=1 exec "$r/{python}" -S "$r/{main}" {args} "$@"
"""

PYTHON_TOOLCHAIN = "@bazel_tools//tools/python:toolchain_type"

def rlocation(ctx, file):
    """Path of `file` under the runfiles root (handles files from other repositories).

    Args:
      ctx: the rule context.
      file: a File in the rule's runfiles.

    Returns:
      The path relative to the runfiles root.
    """
    if file.short_path.startswith("../"):
        return file.short_path[3:]
    return ctx.workspace_name + "/" + file.short_path

def _shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"

def write_runner(ctx, what, tool, main, files, prelude = "", flags = []):
    """Write `<name>.sh`, which runs `main` with `flags`, then `--flag <runfile>` per (flag, file).

    Args:
      ctx: the rule context; the rule must declare PYTHON_TOOLCHAIN.
      what: One line saying what the script does.
      tool: The py_binary's DefaultInfo: its runfiles (the tool's libraries) come along.
      main: The tool's main .py File, run with the Python toolchain's interpreter.
      files: (flag, File) pairs handed to the tool as absolute runfiles paths.
      prelude: Extra bash lines before the exec.
      flags: Literal arguments put before the files'.

    Returns:
      (the script File, the runfiles to return with it).
    """
    runner = ctx.actions.declare_file(ctx.label.name + ".sh")
    interpreter = ctx.toolchains[PYTHON_TOOLCHAIN].py3_runtime.interpreter
    args = " ".join([_shell_quote(flag) for flag in flags] + [
        '%s "$r/%s"' % (flag, rlocation(ctx, f))
        for flag, f in files
    ])
    ctx.actions.write(
        output = runner,
        content = _TEMPLATE.format(
            label = str(ctx.label),
            what = what,
            python = rlocation(ctx, interpreter),
            main = rlocation(ctx, main),
            prelude = prelude,
            args = args,
        ),
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [f for _, f in files] + [interpreter, main])
    return runner, runfiles.merge(tool.default_runfiles)
