"""Where a Python target's own files go in an image: relative to their import root.

A Python developer expects a project laid out as `examples/notes/app/main.py` with
`imports = ["."]` to import as `app.main`, as it does under Bazel. So each first-party file's
in-image path is its runfiles path with the longest matching `imports` root (from PyInfo) cut
off; a file under no declared root keeps its path from the repository root, which rules_python
always puts on sys.path.
"""

def own_files(target, workspace_name):
    """{in-image path relative to the app prefix: File} for `target`'s own repository's files.

    Args:
      target: A Python target (py_library, py_binary).
      workspace_name: ctx.workspace_name: the main repository's runfiles directory name.

    Returns:
      A dict; fails when two files would land on the same path.
    """
    repo = target.label.workspace_name
    repo_dir = repo or workspace_name
    roots = []
    if PyInfo in target:
        roots = [
            i
            for i in target[PyInfo].imports.to_list()
            if i.startswith(repo_dir + "/")
        ]
    roots = sorted(roots, key = len, reverse = True)
    out = {}
    for f in target[DefaultInfo].default_runfiles.files.to_list():
        if repo:
            if not f.short_path.startswith("../%s/" % repo):
                continue
            path = f.short_path[len("../"):]
        else:
            if f.short_path.startswith("../"):
                continue
            path = repo_dir + "/" + f.short_path
        dest = path[len(repo_dir) + 1:]
        for root in roots:
            if path.startswith(root + "/"):
                dest = path[len(root) + 1:]
                break
        if dest in out and out[dest] != f:
            fail("%s: %s and %s both land on %s in the image" % (
                target.label,
                out[dest].short_path,
                f.short_path,
                dest,
            ))
        out[dest] = f
    return out
