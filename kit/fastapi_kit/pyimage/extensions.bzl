"""The `host_tools` module extension: binutils' strip from the machine, as a declared input.

The venv layer strips debug info from native extensions. Bazel cannot download binutils here, so
the program comes from the machine (./bazelw's managed root installs it), found on PATH once, when
the repository is fetched, and linked into `@binutils_strip//:strip`. Actions take that file as an
input: its content, not a PATH look-up at run time, is part of their cache key.
"""

def _host_tool_impl(rctx):
    path = rctx.which(rctx.attr.program)
    if not path:
        fail("{} not found on PATH: run Bazel through ./bazelw (its managed root has binutils) or install binutils".format(rctx.attr.program))
    rctx.symlink(path, rctx.attr.program)
    rctx.file("BUILD.bazel", 'exports_files(["{}"], visibility = ["//visibility:public"])\n'.format(rctx.attr.program))

_host_tool = repository_rule(
    implementation = _host_tool_impl,
    attrs = {"program": attr.string(mandatory = True)},
    environ = ["PATH"],
    local = True,
)

def _host_tools_impl(_mctx):
    _host_tool(name = "binutils_strip", program = "strip")

host_tools = module_extension(
    doc = "Creates @binutils_strip: the machine's `strip`, exposed as `@binutils_strip//:strip`.",
    implementation = _host_tools_impl,
)
