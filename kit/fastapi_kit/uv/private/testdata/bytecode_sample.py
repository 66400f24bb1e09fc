"""A module for wheel_bytecode's test: it must import from its precompiled .pyc."""


def answer() -> int:
    """A value the test reads back through the compiled module."""
    return 42
