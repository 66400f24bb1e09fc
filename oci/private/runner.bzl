"""Helpers for the `bazel run` scripts of oci_load and oci_push.

Both runners call a standard-library Python tool straight from the runfiles tree, so they share
how a file is found there and which directory goes on PYTHONPATH.
"""

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

def python_tool(ctx, file, suffix):
    """Locate a Python tool in the runfiles and the import root its package needs.

    Args:
      ctx: the rule context.
      file: the tool's main .py File.
      suffix: where the tool sits below the import root, e.g. "/oci/private/push.py".

    Returns:
      (path of the tool, import root), both relative to the runfiles root.
    """
    path = rlocation(ctx, file)
    if not path.endswith(suffix):
        fail("unexpected location of %s: %s" % (suffix, path))
    return path, path[:-len(suffix)]

def label_text(ctx):
    """How a user types this target on the command line (for the runner's comments)."""
    if ctx.label.workspace_name:
        return str(ctx.label)
    return "//%s:%s" % (ctx.label.package, ctx.label.name)
