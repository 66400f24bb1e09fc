"""Analysis tests: every fail() of fastapi_kit's rules and of the fastapi_image macro's checks."""

load("@kit_lib//testing:analysis.bzl", "message_test")
load("//fastapi_image:defs.bzl", "fastapi_image")
load("//image_extras:defs.bzl", "healthcheck_base", "stamped_file")
load("//pyimage:defs.bzl", "py_app_layer", "py_venv_layer")

_OFF = {"runtime_test": False, "structure_test": False, "tags": ["manual"], "testonly": True}

def fastapi_kit_analysis_tests(name):
    """One analysis test per fail() path, and a test_suite `name` of them all.

    Args:
      name: Name of the test_suite.
    """
    cases = []

    def case(target, message):
        message_test(name = target + "_test", target_under_test = ":" + target, message = message)
        cases.append(":" + target + "_test")

    def image(image_name, **kwargs):
        args = dict(app = "//kit_testapp", module = "kit_testapp", repository = "localhost:5000/t")
        args.update(kwargs)
        fastapi_image(name = image_name, **dict(_OFF, **args))

    image("bad_module", module = "1app")
    case("bad_module_args", "module must be a dotted Python name")

    image("bad_port", port = 70000)
    case("bad_port_args", "port must be in 1..65535, got 70000")

    image("port_in_env", env = {"PORT": "1"})
    case("port_in_env_args", "set the port with `port = ...`, not env PORT")

    image("bad_health_path", health_path = "health")
    case("bad_health_path_args", "health_path must start with \"/\"")

    image("digest_repository", repository = "localhost:5000/t@sha256:00")
    case("digest_repository_args", "repository must be HOST[:PORT]/NAME without tag or digest")

    image("list_arm64", arm64 = ["@pypi_arm64//:fastapi_pkg"])
    case("list_arm64_args", "arm64 must be platform_wheels(member, \"linux/arm64\") (a dict of deps and wheels), got a list")

    image("unknown_python", python = "3.12")
    case("unknown_python_args", "python must be one of \"3.13\", \"3.14\", got \"3.12\"")

    image("list_wheels", python = "3.14", wheels = ["@pypi//:fastapi_pkg"])
    case("list_wheels_args", "wheels must be platform_wheels(member, \"linux/amd64\", python = ...) (a dict of deps and wheels), got a list")

    image("xz_compression", compression = "xz")
    case("xz_compression_args", "compression must be \"gzip\" or \"zstd\", got \"xz\"")

    image("bad_retention", precompile_source_retention = "omit")
    case("bad_retention_args", "precompile_source_retention must be \"keep_source\" or \"omit_source\", got \"omit\"")

    py_venv_layer(name = "bad_layer_retention", deps = ["//kit_testapp"], precompile_source_retention = "omit", tags = ["manual"], testonly = True)
    case("bad_layer_retention", "precompile_source_retention must be \"keep_source\" or \"omit_source\", got \"omit\"")

    py_venv_layer(name = "omit_uncompiled", compile = False, deps = ["//kit_testapp"], precompile_source_retention = "omit_source", tags = ["manual"], testonly = True)
    case("omit_uncompiled", "precompile_source_retention = \"omit_source\" needs compile = True")

    image("string_healthcheck", healthcheck = "curl localhost")
    case("string_healthcheck_args", "healthcheck must be None, a command list or a dict, got a string")

    image("both_entry_forms", asgi = "kit_testapp.main:app")
    case("both_entry_forms_args", "give exactly one of asgi = \"pkg.module:app\"")

    image("no_entry_form", module = None)
    case("no_entry_form_args", "give exactly one of asgi = \"pkg.module:app\"")

    image("bad_asgi", asgi = "kit_testapp.main", module = None)
    case("bad_asgi_args", "asgi must be \"pkg.module:attr\" like \"app.main:app\", got \"kit_testapp.main\"")

    image("factory_without_asgi", factory = True)
    case("factory_without_asgi_args", "factory = True needs asgi")

    image("missing_asgi_module", asgi = "kit_testapp.nope:app", module = None)
    case("missing_asgi_module_structure_config", "has neither kit_testapp/nope.py nor kit_testapp/nope/__init__.py")

    image("missing_module", module = "kit_testapp.nope")
    case("missing_module_structure_config", "has neither kit_testapp/nope/__main__.py nor kit_testapp/nope.py")

    stamped_file(name = "both_forms", lines = ["a"], pairs = {"k": "v"}, tags = ["manual"])
    case("both_forms", "give exactly one of `pairs` or `lines`")

    stamped_file(name = "no_form", tags = ["manual"])
    case("no_form", "give exactly one of `pairs` or `lines`")

    stamped_file(name = "bad_pair", pairs = {"a=b": "v"}, tags = ["manual"])
    case("bad_pair", "stamped_file: bad pair")

    stamped_file(name = "newline_line", lines = ["a\nb"], tags = ["manual"])
    case("newline_line", "holds a newline")

    healthcheck_base(name = "no_test", architecture = "amd64", healthcheck = "{\"interval\": \"1s\"}", os = "linux", tags = ["manual"])
    case("no_test", "healthcheck must be a JSON object with a non-empty \"test\" list")

    healthcheck_base(name = "empty_healthcheck", architecture = "amd64", healthcheck = "", os = "linux", tags = ["manual"])
    case("empty_healthcheck", "`healthcheck` is empty")

    py_app_layer(name = "two_repos", deps = ["//kit_testapp", "@kit_lib"], tags = ["manual"], testonly = True)
    case("two_repos", "py_app_layer: deps come from several repositories")

    native.test_suite(name = name, tests = cases)
