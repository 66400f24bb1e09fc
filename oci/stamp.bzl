"""Public stamping helpers, for rules outside //oci that stamp the way oci_image does."""

load("//oci/private:stamp.bzl", _STAMP_ATTRS = "STAMP_ATTRS", _stamp_files = "stamp_files")

STAMP_ATTRS = _STAMP_ATTRS
stamp_files = _stamp_files
