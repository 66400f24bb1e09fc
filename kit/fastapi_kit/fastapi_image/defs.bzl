"""fastapi_image: one macro from a FastAPI app's py_library to a tested, pushable OCI image.

Example (see examples/hello, or write a new service with `./bazelw run //tools/new_service`):

    load("@fastapi_kit//fastapi_image:defs.bzl", "fastapi_image", "http_healthcheck")

    fastapi_image(
        name = "image",
        app = ":app",                       # py_library of the project (imports = ["."])
        asgi = "app.main:app",              # served by the kit's launcher
        repository = "localhost:5000/hello",
        healthcheck = http_healthcheck(),
    )

Targets, where STEM is "" for `name = "image"`, "hello_" for "hello_image", else "<name>_":

    <name>                    oci_image (layout directory), and <name>.digest
    STEMvenv_layer            py_venv_layer: the app's third-party wheels as /opt/venv
    STEMapp_layer             py_app_layer: the app's own files under /app
    STEMload                  oci_load: `bazel run` loads into docker/podman; tarball output group
    STEMpush                  oci_push: `bazel run :STEMpush -- -r HOST/NAME -t TAG`
    STEMrun                   `bazel run`: the image under runc on the host network
    <name>_info               `bazel run`: digest and per-layer sizes
    <name>_sbom               with `sbom`: the CycloneDX SBOM (<name>_sbom.cdx.json)
    STEMsign                  with `sbom`: `bazel run :STEMsign -- --key FILE`: cosign signs the
                              pushed image (or index) by digest and attaches each SBOM to it
    <name>_structure_config   the built-in container-structure-test config (<name>_structure_config.yaml)
    <name>_structure_test     container-structure-test (tar driver, no daemon)
    <name>_runtime_test       starts the image under runc, waits for `health_path`, SIGTERM -> 0
    <name>_args               the arguments checked at analysis time (and the entrypoint file)

With `arm64` (the app's wheels for aarch64), also:

    <name>_arm64              the same image for linux/arm64: arm64 base and wheels, same app layer
    STEMvenv_layer_arm64      its venv layer (aarch64 wheels, stripped with the aarch64 binutils)
    <name>_index              oci_image_index of <name> (linux/amd64) and <name>_arm64
    <name>_arm64_structure_test, <name>_arm64_runtime_test (its Python under qemu-aarch64)

and STEMpush pushes the index (both platforms under one digest); <name> stays as it was.
    <name>_metadata           labels/annotations, stamped (image_extras' stamped_file)
    <name>_healthcheck_base   with `healthcheck`: the layer-less base that carries it

So `name = "image"` gives :image, :load, :push, :run, :image_info, :venv_layer, :app_layer.

The image: the base layer, the venv layer (the app's locked wheels plus the kit's launcher),
the app layer (least-changing first, so an app change moves only the last layer); user
65532:65532; workdir /app; the port exposed; PATH, PYTHONUNBUFFERED, PYTHONDONTWRITEBYTECODE,
LANG, SSL_CERT_FILE, HOST=0.0.0.0 and PORT set. The entrypoint, in exec form (the server is PID 1
and gets SIGTERM itself), is either

- with `asgi = "pkg.module:app"`: `/opt/venv/bin/python -m fastapi_kit_launcher pkg.module:app`,
  the kit's production launcher (uvicorn with settings from the environment and `_FILE`
  secrets, a body limit, a header limit and a request deadline; see
  @fastapi_kit//launcher), or
- with `module = "pkg"`: `/opt/venv/bin/python -m pkg`, for apps that run their own server
  (which must serve on $HOST:$PORT and exit 0 on SIGTERM).
"""

load("@container_structure_test//:defs.bzl", "container_structure_test")
load("@kit_pypi//:requirements.bzl", "requirement")
load("@rules_oci//cosign:defs.bzl", "cosign_attest", "cosign_sign")
load("@rules_oci//oci:defs.bzl", "oci_image", "oci_image_index", "oci_load", "oci_push")
load("@rules_python//python:defs.bzl", "py_binary", "py_test")
load("//fastapi_image/private:args.bzl", "fastapi_image_args")
load("//fastapi_image/private:structure_config.bzl", "fastapi_structure_config")
load("//image_extras:defs.bzl", "healthcheck_base", "run_in_order", "stamped_file")
load("//pyimage:defs.bzl", "py_app_layer", "py_venv_layer")
load("//sbom:defs.bzl", "image_sbom")

# Fixed by design: the distroless base's "nonroot" user, the venv and the app prefix the
# //pyimage layers use.
USER = "65532:65532"
WORKDIR = "/app"
PYTHON = "/opt/venv/bin/python"

# Docker/podman healthcheck timings used when `healthcheck` is a command list.
HEALTHCHECK_TIMINGS = {
    "interval": "30s",
    "retries": 3,
    "start_period": "5s",
    "timeout": "3s",
}

_RUNTIME_TEST = Label("//fastapi_image/private:runtime_test.py")
_QEMU_AARCH64 = Label("@qemu_aarch64//:qemu-aarch64")
_LAUNCHER = Label("//launcher")

# The interpreter that writes an image's bytecode, by the base's Python; the build's own Python
# (3.13) where there is none.
_COMPILERS = {"3.14": Label("@python3_14//:python3.14")}

# The launcher's settings (@fastapi_kit//launcher), which STEMrun passes through by default.
LAUNCHER_SETTINGS = [
    "PORT",
    "HOST",
    "WEB_CONCURRENCY",
    "LOG_LEVEL",
    "ACCESS_LOG",
    "FORWARDED_ALLOW_IPS",
    "TIMEOUT_KEEP_ALIVE",
    "TIMEOUT_GRACEFUL_SHUTDOWN",
    "TIMEOUT_REQUEST",
    "LIMIT_CONCURRENCY",
    "MAX_BODY_SIZE",
    "MAX_HEADER_SIZE",
    "LOOP",
    "HTTP",
]

def http_healthcheck(path = "/health", timeout = 3):
    """A healthcheck command for apps without one: GET 127.0.0.1:$PORT<path>, exit 0 on 2xx.

    The image has no shell and no curl, so the check is a Python one-liner run with the venv's
    interpreter; urllib raises (exit 1) on a refused connection, a timeout or a non-2xx/3xx status.

    Args:
      path: The path to probe, starting with "/".
      timeout: Seconds before the request counts as failed.

    Returns:
      An exec-form command list for `fastapi_image(healthcheck = ...)`.
    """
    if not path.startswith("/") or "'" in path or "\\" in path:
        fail("http_healthcheck: path must start with \"/\" and hold no ' or \\, got %r" % path)
    code = (
        "import os, urllib.request; " +
        "urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + " +
        "'%s', timeout=%d)" % (path, timeout)
    )
    return [PYTHON, "-c", code]

def _stem(name):
    """Prefix of the companion targets: "" for "image", "hello_" for "hello_image"."""
    if name == "image":
        return ""
    if name.endswith("_image"):
        return name[:-len("image")]
    return name + "_"

def _wheels_problem(value):
    """What is wrong with a `platform_wheels(...)` argument (None is fine), or ""."""
    if value == None:
        return ""
    if type(value) != "dict":
        return "a " + type(value)
    if sorted(value.keys()) != ["deps", "wheels"]:
        return "a dict of %s" % ", ".join(sorted(value.keys()))
    return ""

def _healthcheck(healthcheck):
    if healthcheck == None:
        return None
    if type(healthcheck) == "list":
        return dict(HEALTHCHECK_TIMINGS, test = healthcheck)
    if type(healthcheck) == "dict":
        return healthcheck
    return None  # fastapi_image_args fails on it, at analysis time

def fastapi_image(
        name,
        app,
        repository,
        asgi = None,
        factory = False,
        module = None,
        port = 8000,
        base = Label("//distroless:base_layer"),
        python = "3.13",
        wheels = None,
        arm64 = None,
        base_arm64 = Label("//distroless:base_layer_arm64"),
        compression = "gzip",
        libstdcxx = False,
        precompile_source_retention = "keep_source",
        build_info = None,
        env = {},
        labels = {},
        healthcheck = None,
        health_path = "/health",
        repo_tags = None,
        remote_tags = ["latest"],
        structure_test = True,
        structure_test_configs = [],
        runtime_test = True,
        runtime_test_env = {},
        run_env_passthrough = None,
        sbom = None,
        visibility = None,
        testonly = None,
        tags = None):
    """An OCI image of a FastAPI app, with load, push, run, info and tests (see the file doc).

    Args:
      name: The image target; the companion targets are named after it (see the file doc).
      app: The app's py_library. Its third-party deps go to the venv layer, its own files under
        /app at their paths below their `imports` root (so a project laid out as `app/...`
        with `imports = ["."]` imports as `app`), data files included.
      repository: HOST[:PORT]/NAME that STEMpush pushes to (replaceable with `-r` at run time).
        NAME's last component also gives the default repo tag and title label.
      asgi: "pkg.module:attr": the ASGI app the kit's launcher serves (the usual choice). The
        app must contain pkg/module.py or pkg/module/__init__.py, and its closure uvicorn
        (checked when analysing the structure config and by the structure test).
      factory: With `asgi`: attr is a function that returns the app (uvicorn's --factory).
      module: Instead of `asgi`: the module the image runs with `python -m`, for apps with
        their own server; the app must contain `<module path>/__main__.py` or
        `<module path>.py`.
      port: TCP port the app listens on: set as PORT, exposed, and the one `docker run -p`
        maps. The runtime test overrides PORT with a free port.
      base: The base layer: a tar with Python at /usr/bin/pythonX.Y (`python`) and the nonroot
        user.
      python: The base's Python: "3.13" (default; Debian 13) or "3.14" (Debian forky, the
        testing suite: security fixes arrive later than in a stable release). With "3.14" the
        bytecode is written by the machine's python3.14 (./bazelw's managed root has it) and the
        venv needs cp314 wheels: give `wheels`, unless `app`'s deps already come from a cp314
        hub.
      wheels: The app's third-party wheels for this image: `platform_wheels(member,
        "linux/amd64", python = "3.14")` of the uv extension's defs.bzl (a dict {deps, wheels}),
        for a `python` other than the one `app`'s deps were installed for. None (default): the
        venv holds `app`'s own third-party deps.
      arm64: The app's third-party wheels for linux/arm64: `platform_wheels(member,
        "linux/arm64")` of the uv extension's defs.bzl (a dict {deps, wheels} from a pip.parse
        hub that downloads aarch64 wheels). Adds <name>_arm64 and <name>_index, and STEMpush
        pushes the index. None (default): amd64 only.
      base_arm64: The arm64 base layer (the same packages from the arm64 Debian lock).
        With `python = "3.14"`, give `arm64 = platform_wheels(member, "linux/arm64", python =
        "3.14")`.
      compression: "gzip" (default; every runtime reads it) or "zstd" (smaller and faster to
        unpack; containerd >= 1.5, podman, docker >= 23 read it): how the venv and app layers
        are compressed, and which base is used when `base`/`base_arm64` are the defaults.
      libstdcxx: With the default bases: take the ones with libstdc++6 (2.5 MB), for wheels
        with C++ extensions that link libstdc++.so.6 (the FastAPI stack has none).
      precompile_source_retention: "keep_source" (default) or "omit_source": whether
        third-party packages and the standard library's precompiled modules ship their `.py`
        beside their `.pyc`. "omit_source" ships `NAME.pyc` in their place and, with the
        default bases, takes the `_sourceless` ones: about 10 MB less uncompressed and 2 MB
        less gzip for the FastAPI stack. The cost: tracebacks through library frames show file
        and line, not the line's text, and library code that reads its own source
        (`inspect.getsource`) fails. First-party files (`app`) always keep their source.
      build_info: Optional label of a `build_info` target (//pyimage:defs.bzl) to add to the app
        layer, e.g. "//app:build_info": stamped version data the app reads at run time.
      env: Extra environment variables, applied after the defaults (and able to replace them,
        except PORT: use `port`). Values may use `$VAR` as in oci_image.
      labels: OCI metadata, written both as config labels (docker inspect) and as manifest
        annotations (registries), over defaults for title (NAME), version
        ("{STABLE_VERSION:-0.0.0}"), revision ("{STABLE_GIT_REVISION:-unknown}") and created
        (the epoch). Values may hold stamp placeholders `{KEY}` / `{KEY:-default}`.
      healthcheck: Docker/podman HEALTHCHECK. None (default): none. A list: the exec-form
        command, with HEALTHCHECK_TIMINGS (e.g. `http_healthcheck()` or
        `[PYTHON, "-m", "app.healthcheck"]`). A dict: the full spec, as oci_image takes it.
        Kubernetes ignores it and uses the pod's probes.
      health_path: The path the runtime test waits on for a 200 before it sends SIGTERM.
      repo_tags: Tags of the STEMload tarball; default ["NAME:latest"].
      remote_tags: Tags STEMpush points at the pushed digest (stamp placeholders allowed).
      structure_test: Whether to add <name>_structure_test.
      structure_test_configs: Extra container-structure-test YAML/JSON configs for the app's
        own files and metadata, run after the built-in one.
      runtime_test: Whether to add <name>_runtime_test (needs runc and root: tagged no-sandbox).
      runtime_test_env: Extra environment for the container in the runtime test (e.g. settings
        the app needs to start).
      run_env_passthrough: Names STEMrun passes from your environment into the container (each
        also as NAME_FILE, mounted as a secret). Default: LAUNCHER_SETTINGS with `asgi`,
        ["PORT", "HOST"] with `module`. `-e NAME=VALUE` and `--env-file FILE` pass any
        other setting; `-- COMMAND...` runs a one-shot command instead of the entrypoint.
      sbom: With a dict {requirements_lock, wheels, uv_lock} (`sbom(member)` of the uv
        extension's defs.bzl): <name>_sbom, the CycloneDX SBOM of the image
        (<name>_sbom.cdx.json), checked against those locks and the base's Debian lock.
      visibility: Visibility of every target.
      testonly: Passed to every target.
      tags: Passed to every target.
    """
    image_name = repository.rstrip("/").split("/")[-1]
    stem = _stem(name)
    common = {"tags": tags, "testonly": testonly, "visibility": visibility}
    image = ":" + name
    if asgi:
        entrypoint = [PYTHON, "-m", "fastapi_kit_launcher"] + (["--factory"] if factory else []) + [asgi]
    else:
        entrypoint = [PYTHON, "-m", module or ""]
    if run_env_passthrough == None:
        run_env_passthrough = LAUNCHER_SETTINGS if asgi else ["PORT", "HOST"]

    # A bad `arm64` or `wheels` is reported by fastapi_image_args, at analysis time, and makes
    # no targets.
    arm64_problem = _wheels_problem(arm64)
    if arm64_problem:
        arm64 = None
    wheels_problem = _wheels_problem(wheels)
    if wheels_problem:
        wheels = None

    # Every argument is checked here, at analysis time: the image's entrypoint comes from it.
    fastapi_image_args(
        name = name + "_args",
        arm64_problem = arm64_problem,
        python = python,
        wheels_problem = wheels_problem,
        asgi = asgi or "",
        entrypoint = entrypoint,
        env_keys = sorted(env.keys()),
        factory = factory,
        health_path = health_path,
        compression = compression,
        precompile_source_retention = precompile_source_retention,
        healthcheck_type = type(healthcheck),
        module = module or "",
        port = port,
        repository = repository,
        **common
    )

    image_env = {
        "PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "HOST": "0.0.0.0",
        "PORT": str(port),
    }
    image_env.update(env)
    metadata = {
        "org.opencontainers.image.title": image_name,
        "org.opencontainers.image.version": "{STABLE_VERSION:-0.0.0}",
        "org.opencontainers.image.revision": "{STABLE_GIT_REVISION:-unknown}",
        "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
    }
    metadata.update(labels)

    # A bad value is reported by fastapi_image_args; the layers then keep their sources.
    retention = precompile_source_retention if precompile_source_retention in ("keep_source", "omit_source") else "keep_source"

    # The default bases come in variants (@fastapi_kit//distroless:BUILD.bazel).
    py_suffix = "_py3.14" if python == "3.14" else ""
    variant = "".join([
        "_cxx" if libstdcxx else "",
        "_sourceless" if retention == "omit_source" else "",
        "_zstd" if compression == "zstd" else "",
    ])
    if base == Label("//distroless:base_layer"):
        base = Label("//distroless:base_layer" + py_suffix + variant)
    if base_arm64 == Label("//distroless:base_layer_arm64"):
        base_arm64 = Label("//distroless:base_layer" + py_suffix + "_arm64" + variant)
    debian_locks = {
        "3.13": ("packages.lock.json", "packages.arm64.lock.json"),
        "3.14": ("packages.py3.14.lock.json", "packages.py3.14.arm64.lock.json"),
    }.get(python, ("packages.lock.json", "packages.arm64.lock.json"))
    layer_common = dict(
        common,
        compiler = _COMPILERS.get(python),
        compression = compression,
        python = "/usr/bin/python" + python,
        python_version = python,
    )
    venv_common = dict(layer_common, precompile_source_retention = retention)
    py_venv_layer(
        name = stem + "venv_layer",
        deps = wheels["deps"] if wheels != None else [app],
        site_libs = [_LAUNCHER] if asgi else [],
        **venv_common
    )
    py_app_layer(
        name = stem + "app_layer",
        deps = [app] + ([build_info] if build_info else []),
        **layer_common
    )

    # rules_oci's API has no inline stamping: the values go through a stamped file.
    stamped_file(
        name = name + "_metadata",
        pairs = metadata,
        **common
    )

    # (image target, OCI architecture, base layer, venv layer); amd64 is <name> itself.
    platforms = [(name, "amd64", base, ":" + stem + "venv_layer")]
    if arm64 != None:
        # Only the venv differs: the app layer's files and bytecode are the same on any CPU.
        py_venv_layer(
            name = stem + "venv_layer_arm64",
            architecture = "arm64",
            deps = arm64["deps"],
            site_libs = [_LAUNCHER] if asgi else [],
            **venv_common
        )
        platforms.append((name + "_arm64", "arm64", base_arm64, ":" + stem + "venv_layer_arm64"))
    health = _healthcheck(healthcheck)
    for image_target, architecture, base_layer, venv_layer in platforms:
        platform = {"architecture": architecture, "os": "linux"}
        if health:
            # rules_oci has no healthcheck either: the image inherits it from a layer-less base.
            healthcheck_base(
                name = image_target + "_healthcheck_base",
                healthcheck = json.encode(health),
                **dict(common, **platform)
            )
            platform = {"base": ":" + image_target + "_healthcheck_base"}
        oci_image(
            name = image_target,
            annotations = ":" + name + "_metadata",
            entrypoint = ":" + name + "_args",
            env = image_env,
            exposed_ports = ["%d/tcp" % port],
            labels = ":" + name + "_metadata",
            # Least-changing first: an app change moves only the last layer.
            tars = [
                base_layer,
                venv_layer,
                ":" + stem + "app_layer",
            ],
            user = USER,
            workdir = WORKDIR,
            **dict(common, **platform)
        )
    pushed = image
    if arm64 != None:
        oci_image_index(
            name = name + "_index",
            annotations = ":" + name + "_metadata",
            images = [image, image + "_arm64"],
            **common
        )
        pushed = image + "_index"
    oci_load(
        name = stem + "load",
        image = image,
        repo_tags = repo_tags if repo_tags != None else [image_name + ":latest"],
        **common
    )
    stamped_file(
        name = stem + "push_tags",
        lines = remote_tags,
        **common
    )
    oci_push(
        name = stem + "push",
        image = pushed,
        remote_tags = ":" + stem + "push_tags",
        repository = repository,
        **common
    )
    py_binary(
        name = stem + "run",
        srcs = [Label("//runtime:run.py")],
        args = ["$(rootpath %s)" % image] + ["--pass=" + n for n in run_env_passthrough],
        data = [image],
        main = Label("//runtime:run.py"),
        deps = [Label("//runtime")],
        **common
    )
    if sbom:
        image_sbom(
            name = name + "_sbom",
            debian_lock = Label("//distroless:" + debian_locks[0]),
            image = image,
            image_name = image_name,
            **dict(common, **dict(sbom, **({"wheels": wheels["wheels"]} if wheels != None else {})))
        )
        sboms = [":" + name + "_sbom"]
        if arm64 != None:
            # The arm64 image's own packages: its Debian lock and its aarch64 wheels.
            image_sbom(
                name = name + "_arm64_sbom",
                debian_lock = Label("//distroless:" + debian_locks[1]),
                image = image + "_arm64",
                image_name = image_name,
                **dict(common, **dict(sbom, wheels = arm64["wheels"]))
            )
            sboms.append(":" + name + "_arm64_sbom")

        # What STEMpush pushed, signed by digest, with each SBOM attached as an attestation.
        cosign_sign(
            name = stem + "sign_image",
            image = pushed,
            repository = repository,
            **common
        )
        for i, sbom_target in enumerate(sboms):
            cosign_attest(
                name = stem + "attest_sbom_%d" % i,
                image = pushed,
                predicate = sbom_target,
                repository = repository,
                type = "cyclonedx",
                **common
            )
        run_in_order(
            name = stem + "sign",
            steps = [":" + stem + "sign_image"] + [
                ":" + stem + "attest_sbom_%d" % i
                for i in range(len(sboms))
            ],
            **common
        )
    py_binary(
        name = name + "_info",
        srcs = [Label("//image_extras/private:describe.py")],
        args = ["$(rootpath %s)" % image],
        data = [image],
        main = Label("//image_extras/private:describe.py"),
        deps = [Label("@kit_lib")],
        **common
    )
    fastapi_structure_config(
        name = name + "_structure_config",
        app = app,
        asgi = asgi or "",
        entrypoint = entrypoint,
        env = image_env,
        labels = metadata,
        module = module or "",
        port = port,
        precompile_source_retention = retention,
        python_version = python,
        user = USER,
        workdir = WORKDIR,
        **common
    )
    if structure_test:
        container_structure_test(
            name = name + "_structure_test",
            size = "small",
            configs = [":" + name + "_structure_config"] + structure_test_configs,
            driver = "tar",
            # The layout: the rule writes a tarball of only what the tests look at.
            image = image,
            tags = tags,
            visibility = visibility,
        )
        if arm64 != None:
            # The same checks on the arm64 image (files and metadata: nothing is run).
            container_structure_test(
                name = name + "_arm64_structure_test",
                size = "small",
                configs = [":" + name + "_structure_config"] + structure_test_configs,
                driver = "tar",
                image = image + "_arm64",
                tags = tags,
                visibility = visibility,
            )
    if runtime_test:
        tests = [(name + "_runtime_test", image, {})]
        if arm64 != None:
            # The arm64 image's own Python under qemu's user-mode emulator.
            tests.append((name + "_arm64_runtime_test", image + "_arm64", {
                "EMULATOR": "$(rlocationpath %s)" % _QEMU_AARCH64,
            }))
        for test_name, test_image, test_env in tests:
            py_test(
                name = test_name,
                size = "medium" if not test_env else "large",
                srcs = [_RUNTIME_TEST],
                data = [test_image] + ([_QEMU_AARCH64] if test_env else []),
                env = dict(test_env, **{
                    "CONTAINER_ENV": json.encode(runtime_test_env).replace("$", "$$"),
                    "HEALTH_PATH": health_path,
                    "IMAGE": "$(rlocationpath %s)" % test_image,
                    "PYTHON_VERSION": python,
                }),
                # No generated __init__.py: an empty `fastapi` package in the runfiles would shadow
                # the real one for anything imported there.
                legacy_create_init = False,
                main = _RUNTIME_TEST,
                # runc needs root (of ./bazelw's namespace, a user's own one included): no sandbox, never remotely.
                tags = ["no-remote", "no-sandbox"] + (tags or []),
                visibility = visibility,
                deps = [
                    Label("//runtime"),
                    Label("@kit_lib"),
                    requirement("pytest"),
                ],
            )
