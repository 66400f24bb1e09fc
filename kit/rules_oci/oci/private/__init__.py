"""Tools and Starlark internals behind //oci:defs.bzl."""
