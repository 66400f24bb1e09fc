"""Private implementation of container_structure_test; use //structure_test:defs.bzl."""
