"""Providers shared by the oci_* rules."""

OciImageInfo = provider(
    doc = "An image built by oci_image: its OCI layout directory and its manifest digest file.",
    fields = {
        "layout": "File: the OCI image layout directory (oci-layout, index.json, blobs/).",
        "digest": "File: holds 'sha256:<hex>', the digest of the image manifest.",
    },
)
