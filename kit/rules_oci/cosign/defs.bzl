"""rules_oci 2.3.2's cosign rules: sign an image by digest, attach attestations to it.

    load("@rules_oci//cosign:defs.bzl", "cosign_attest", "cosign_sign")

    cosign_sign(name = "sign", image = ":image_index", repository = "registry.example.com/app")
    cosign_attest(
        name = "attest_sbom",
        image = ":image_index",
        type = "cyclonedx",
        predicate = ":image_sbom",
        repository = "registry.example.com/app",
    )

`bazel run :sign -- --key cosign.key` signs `<repository>@<digest of the built layout>` (push it
first); every argument but `-r/--repository` and `--no-tlog` is cosign's. cosign comes from the
machine (Debian's `cosign`), declared as `@cosign//:cosign`.
"""

load("//cosign/private:cosign.bzl", _cosign_attest = "cosign_attest", _cosign_sign = "cosign_sign")

cosign_sign = _cosign_sign
cosign_attest = _cosign_attest
