"""The `host_tools` module extension: binutils' strip from the machine, as a declared input.

The venv layer strips debug info from native extensions. Bazel cannot download binutils here, so
the program comes from the machine (./bazelw's managed root installs it), found on PATH once, when
the repository is fetched, and linked into `@binutils_strip//:strip`. Actions take that file as an
input: its content, not a PATH look-up at run time, is part of their cache key.
"""

load("@kit_lib//toolchains:host_binary.bzl", "host_binary")

def _host_tools_impl(_mctx):
    host_binary(name = "binutils_strip", binaries = ["strip"])

host_tools = module_extension(
    doc = "Creates @binutils_strip: the machine's `strip`, exposed as `@binutils_strip//:strip`.",
    implementation = _host_tools_impl,
)
