"""`kit_doc`: a Markdown reference page of one public .bzl file of the kit."""

def kit_doc(name, src, deps):
    """`generated/<name>.md` from `src`'s docstrings: starlark_doc_extract, then //tools/docs:render.

    Args:
      name: The page's name (docs/<name>.md).
      src: The .bzl file's label.
      deps: Targets with every .bzl file `src` loads, transitively.
    """
    native.starlark_doc_extract(
        name = name + "_extract",
        src = src,
        deps = deps,
    )
    native.genrule(
        name = name,
        srcs = [name + "_extract.textproto"],
        # Not docs/<name>.md itself, which is the committed page the test compares against.
        outs = ["generated/%s.md" % name],
        cmd = "$(execpath //tools/docs:render) --input $< --output $@ --title '%s'" % src,
        tools = ["//tools/docs:render"],
    )
