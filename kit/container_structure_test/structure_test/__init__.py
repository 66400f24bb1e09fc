"""container_structure_test: image structure tests with no daemon (see defs.bzl)."""
