"""What the distroless base keeps out of the .debs' files, and why.

Every rule is a path pattern (fnmatch over the image path without its leading slash, where `*`
also crosses `/`) with a reason. The first matching rule wins; KEEP rules are checked first, so a
broad drop (all docs) can spare a few files (the copyright notices that licences require).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

# The standard library folders of the Pythons a base can carry.
PY_DIRS = ("usr/lib/python3.13", "usr/lib/python3.14")
# Debian's multiarch library folders of the architectures the base is built for.
LIBDIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu")


def _each_libdir(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The rules written with `{lib}`, once per multiarch library folder."""
    return tuple((pattern.format(lib=lib), why) for lib in LIBDIRS for pattern, why in rules)


def _each_python(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The rules written with `{py}`, once per standard library folder."""
    return tuple((pattern.format(py=py), why) for py in PY_DIRS for pattern, why in rules)


GCONV = "{lib}/gconv"

KEEP: tuple[tuple[str, str], ...] = (
    ("usr/share/doc/*/copyright", "licence notices must ship with the binaries"),
    ("usr/bin/python3.13", "the interpreter"),
    ("usr/bin/python3.14", "the interpreter"),
    ("usr/sbin/ldconfig", "prints ld.so.cache for ctypes.util.find_library (no shell, no writes)"),
    *_each_libdir(
        (
            (f"{GCONV}/gconv-modules", "iconv configuration"),
            (f"{GCONV}/gconv-modules.cache", "iconv configuration"),
            (f"{GCONV}/gconv-modules.d", "iconv configuration"),
            (f"{GCONV}/gconv-modules.d/*", "iconv configuration"),
            (f"{GCONV}/UTF-16.so", "iconv: Unicode encodings"),
            (f"{GCONV}/UTF-32.so", "iconv: Unicode encodings"),
            (f"{GCONV}/UTF-7.so", "iconv: Unicode encodings"),
            (f"{GCONV}/UNICODE.so", "iconv: Unicode encodings"),
            (f"{GCONV}/ISO8859-1.so", "iconv: Latin-1"),
            (f"{GCONV}/ISO8859-15.so", "iconv: Latin-9"),
            (f"{GCONV}/CP1252.so", "iconv: Windows Latin-1"),
        )
    ),
)

DROP: tuple[tuple[str, str], ...] = (
    # Documentation and packaging metadata nobody reads in a container.
    ("usr/share/doc/*", "documentation"),
    ("usr/share/man/*", "man pages"),
    ("usr/share/info/*", "info pages"),
    ("usr/share/lintian/*", "packaging lint data"),
    ("usr/share/locale/*", "message translations"),
    ("usr/share/bug/*", "bug-reporting scripts"),
    ("usr/lib/locale/*", "compiled locales; glibc >= 2.35 has C.UTF-8 built in"),
    ("usr/lib/locale", "compiled locales; glibc >= 2.35 has C.UTF-8 built in"),
    ("usr/share/gdb/*", "debugger helpers"),
    ("usr/share/gcc/*", "debugger pretty-printers"),
    ("usr/share/binfmts/*", "binfmt registration"),
    ("usr/lib/binfmt.d/*", "binfmt registration"),
    ("usr/share/base-files", "templates for login shells"),
    ("usr/share/base-files/*", "templates for login shells"),
    ("etc/update-motd.d/*", "login banners"),
    ("etc/issue", "login banner"),
    ("etc/issue.net", "login banner"),
    ("etc/profile.d", "login shell setup"),
    ("etc/profile.d/*", "login shell setup"),
    ("etc/skel", "login shell setup"),
    ("etc/skel/*", "login shell setup"),
    ("etc/update-motd.d", "login banners"),
    ("etc/ca-certificates", "update-ca-certificates hooks; the bundle is made at build time"),
    ("etc/ca-certificates/*", "update-ca-certificates hooks; the bundle is made at build time"),
    ("usr/share/ca-certificates", "sources of the bundle made at build time"),
    ("usr/share/ca-certificates/*", "sources of the bundle made at build time"),
    # Programs: a distroless image runs only the interpreter (and ldconfig -p, kept above).
    ("usr/bin/*", "programs other than the interpreter"),
    ("usr/sbin/*", "administration programs"),
    ("usr/games/*", "programs"),
    *_each_libdir(
        (
            # iconv modules for legacy charsets (8 MB); Python has its own codecs.
            (f"{GCONV}/*", "legacy iconv charsets"),
            # glibc helpers of profiling tools that are not installed.
            ("{lib}/libmemusage.so", "memusage tool helper"),
            ("{lib}/libpcprofile.so", "pcprofile tool helper"),
            ("{lib}/libc_malloc_debug.so.*", "malloc debugging preload"),
            # Vector maths for OpenMP SIMD code (1 MB); manylinux wheels may not link it.
            ("{lib}/libmvec.so.*", "vector maths library no wheel may use"),
        )
    ),
    # Bytecode caches are host- and time-dependent; the debs ship none, keep it that way.
    ("*/__pycache__", "bytecode caches"),
    ("*/__pycache__/*", "bytecode caches"),
    ("*.pyc", "bytecode caches"),
    # Python: package installers and tools a runtime does not use.
    ("usr/lib/python3/dist-packages/pip/*", "pip"),
    *_each_python(
        (
            ("{py}/ensurepip/*", "pip installer"),
            ("{py}/ensurepip", "pip installer"),
            ("{py}/test/*", "CPython's own tests"),
            ("{py}/test", "CPython's own tests"),
            ("{py}/idlelib*", "IDLE editor"),
            ("{py}/tkinter*", "Tk GUI"),
            ("{py}/turtle.py", "turtle graphics (needs Tk)"),
            ("{py}/turtledemo*", "turtle graphics demos"),
            ("{py}/pydoc_data*", "help() topic texts"),
            ("{py}/lib-dynload/_test*", "CPython test modules"),
            ("{py}/lib-dynload/_ctypes_test*", "CPython test modules"),
            ("{py}/lib-dynload/_xxtestfuzz*", "CPython test modules"),
            ("{py}/lib-dynload/xx*", "CPython example modules"),
            # Extension modules whose libraries are excluded in packages.in.
            ("{py}/lib-dynload/_dbm.*", "needs libdb, excluded"),
            ("{py}/lib-dynload/_curses*", "needs ncurses, excluded"),
            ("{py}/lib-dynload/readline.*", "needs readline, excluded"),
        )
    ),
)


def reason_to_drop(path: str) -> str | None:
    """Return why `path` (image path, no leading slash) is left out, or None to keep it."""
    for pattern, _why in KEEP:
        if fnmatchcase(path, pattern):
            return None
    for pattern, why in DROP:
        if fnmatchcase(path, pattern):
            return why
    return None
