"""The `bazel run` scripts of oci_load and oci_push.

Each is a short bash script that finds its files with Bazel's own runfiles library
(`@bazel_tools//tools/bash/runfiles`) and execs a py_binary tool, which runs on the registered
Python toolchain. Nothing is looked up on PATH.
"""

_TEMPLATE = """#!/usr/bin/env bash
# Generated for {label}: {what}.
set -euo pipefail
f=bazel_tools/tools/bash/runfiles/runfiles.bash
# shellcheck disable=SC1090
source "${{RUNFILES_DIR:-$0.runfiles}}/$f" 2>/dev/null \\
  || source "$0.runfiles/$f" 2>/dev/null \\
  || {{ echo "{label}: error: cannot find $f (run it with bazel run)" >&2; exit 1; }}
tool=$(rlocation "{tool}")
{prelude}
exec "$tool" {args} "$@"
"""

# The same, but the interpreter runs the tool's main file itself: the py_binary's launcher (a
# second Python start that searches the runfiles) costs more than the push of an unchanged image.
# The import path is what that launcher gives: the runfiles root and each repository in it.
_DIRECT_TEMPLATE = """#!/usr/bin/env bash
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

def write_runner(ctx, what, tool, files, prelude = "", main = None, flags = []):
    """Write `<name>.sh`, which execs `tool` with `--flag <runfile>` for each (flag, file).

    Args:
      ctx: the rule context; needs the `_bash_runfiles` attribute.
      what: One line saying what the script does.
      tool: The py_binary's DefaultInfo.
      files: (flag, File) pairs handed to the tool as absolute runfiles paths.
      prelude: Extra bash lines before the exec.
      main: The tool's main .py File: run it with the Python toolchain's interpreter directly
        (the rule must declare PYTHON_TOOLCHAIN), skipping the py_binary's launcher.
      flags: Literal arguments put before the files' (with `main` only).

    Returns:
      (the script File, the runfiles to return with it).
    """
    runner = ctx.actions.declare_file(ctx.label.name + ".sh")
    args = " ".join([
        '%s "$(rlocation "%s")"' % (flag, rlocation(ctx, f))
        for flag, f in files
    ])
    extra = []
    if main:
        interpreter = ctx.toolchains[PYTHON_TOOLCHAIN].py3_runtime.interpreter
        args = " ".join([_shell_quote(flag) for flag in flags] + [
            '%s "$r/%s"' % (flag, rlocation(ctx, f))
            for flag, f in files
        ])
        content = _DIRECT_TEMPLATE.format(
            label = str(ctx.label),
            python = rlocation(ctx, interpreter),
            main = rlocation(ctx, main),
            prelude = prelude,
            args = args,
        )
        extra = [interpreter, main]
    else:
        content = _TEMPLATE.format(
            label = str(ctx.label),
            what = what,
            tool = rlocation(ctx, tool.files_to_run.executable),
            prelude = prelude,
            args = args,
        )
    ctx.actions.write(output = runner, content = content, is_executable = True)
    bash = ctx.attr._bash_runfiles[DefaultInfo]
    runfiles = ctx.runfiles(files = [f for _, f in files] + extra, transitive_files = bash.files)
    runfiles = runfiles.merge_all([bash.default_runfiles, tool.default_runfiles])
    return runner, runfiles

BASH_RUNFILES_ATTR = {
    "_bash_runfiles": attr.label(
        doc = "Internal: Bazel's bash runfiles library.",
        default = Label("@bazel_tools//tools/bash/runfiles"),
    ),
}
