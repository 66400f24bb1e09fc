"""Private implementation of container_structure_test; use @container_structure_test//:defs.bzl."""
