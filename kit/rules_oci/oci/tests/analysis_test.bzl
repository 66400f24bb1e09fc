"""Analysis tests: every fail() of the kit's rules_oci rules, with its message."""

load("@kit_lib//testing:analysis.bzl", "message_test")
load("//oci:defs.bzl", "oci_image", "oci_image_index", "oci_load", "oci_push")
load("//oci/private:files.bzl", "value_file")

def oci_analysis_tests(name):
    """One analysis test per fail() path, and a test_suite `name` of them all.

    Args:
      name: Name of the test_suite.
    """
    cases = []

    def case(target, message):
        message_test(name = target + "_test", target_under_test = ":" + target, message = message)
        cases.append(":" + target + "_test")

    oci_image(name = "no_platform", tags = ["manual"], tars = ["base_layer.tar"])
    case("no_platform", "os and architecture are mandatory when there is no base")

    oci_image(name = "only_os", os = "linux", tags = ["manual"])
    case("only_os", "os and architecture are mandatory when there is no base")

    oci_image(name = "platform_with_base", base = ":base_image", architecture = "arm64", tags = ["manual"])
    case("platform_with_base", "architecture must not be set together with base")

    oci_image(name = "bad_env_key", env = {"A=B": "1"}, os = "linux", architecture = "amd64", tags = ["manual"])
    case("bad_env_key_env", "env: bad key \"A=B\"")

    oci_image(name = "comma_in_entrypoint", entrypoint = ["a,b"], os = "linux", architecture = "amd64", tags = ["manual"])
    case("comma_in_entrypoint_entrypoint", "entrypoint: \"a,b\" holds \",\"")

    value_file(name = "newline_in_value", what = "labels", kind = "pairs", pairs = {"k": "a\nb"}, tags = ["manual"])
    case("newline_in_value", "labels: the value of \"k\" holds a newline")

    oci_push(name = "repository_twice", image = ":base_image", repository = "r.example/a", repository_file = "hello.txt", tags = ["manual"])
    case("repository_twice", "give `repository` or `repository_file`, not both")

    oci_push(name = "repository_digest", image = ":base_image", repository = "r.example/a@sha256:00", tags = ["manual"])
    case("repository_digest", "`repository` must not hold a digest")

    oci_load(name = "custom_loader", image = ":base_image", repo_tags = ["a:b"], loader = ":make_layer", tags = ["manual"])
    case("custom_loader", "`loader` (a custom load CLI) is not implemented")

    oci_image_index(name = "index_platforms", images = [":base_image"], platforms = [":base_layer"], tags = ["manual"])
    case("index_platforms", "oci_image_index: `platforms` (building each image through a transition) is not supported")

    oci_image_index(name = "index_empty", images = [], tags = ["manual"])
    case("index_empty", "oci_image_index: `images` is empty")

    native.test_suite(name = name, tests = cases)
