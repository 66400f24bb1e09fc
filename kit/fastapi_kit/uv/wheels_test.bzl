"""Unit tests of uv.wheels' simple-index reading: which anchor is the locked file, and its URL."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//uv/private:wheels.bzl", "clean", "find_file_url")

_SHA = "ab" * 32
_FILE = "demo_pkg-1.0-py3-none-any.whl"

def _absolute_impl(ctx):
    env = unittest.begin(ctx)
    page = """<html><body>
<a href="https://files.test/p/demo_pkg-0.9-py3-none-any.whl#sha256=%s">demo_pkg-0.9</a>
<a href="https://files.test/p/%s#sha256=%s" data-requires-python="&gt;=3.9">%s</a>
</body></html>""" % ("cd" * 32, _FILE, _SHA, _FILE)
    asserts.equals(env, "https://files.test/p/" + _FILE, find_file_url(page, "https://idx.test/simple/demo-pkg/", _FILE, _SHA))
    return unittest.end(env)

def _hash_must_match_impl(ctx):
    env = unittest.begin(ctx)

    # Same name, other content: an index that re-uploaded a file must not be taken.
    page = '<a href="https://files.test/p/%s#sha256=%s">x</a>' % (_FILE, "cd" * 32)
    asserts.equals(env, None, find_file_url(page, "https://idx.test/simple/demo-pkg/", _FILE, _SHA))

    # A longer name ending the same way is another file.
    page = '<a href="https://files.test/p/x%s">x</a>' % _FILE
    asserts.equals(env, None, find_file_url(page, "https://idx.test/simple/demo-pkg/", _FILE, _SHA))
    return unittest.end(env)

def _relative_impl(ctx):
    env = unittest.begin(ctx)
    page_url = "https://idx.test/root/simple/demo-pkg/"
    cases = {
        "../../packages/ab/%s#sha256=%s" % (_FILE, _SHA): "https://idx.test/root/packages/ab/" + _FILE,
        "/dl/%s" % _FILE: "https://idx.test/dl/" + _FILE,
        "./%s" % _FILE: "https://idx.test/root/simple/demo-pkg/" + _FILE,
        "//cdn.test/%s" % _FILE: "https://cdn.test/" + _FILE,
    }
    for href, want in cases.items():
        page = "<a href='%s'>%s</a>" % (href, _FILE)
        asserts.equals(env, want, find_file_url(page, page_url, _FILE, _SHA))

    # A folder of pages on disk (a file:// index), and a query string after the name.
    page = '<a href="../../files/%s?x=1&amp;y=2#sha256=%s">f</a>' % (_FILE, _SHA)
    asserts.equals(env, "file:///srv/files/%s?x=1&y=2" % _FILE, find_file_url(page, "file:///srv/simple/demo-pkg/", _FILE, _SHA))
    return unittest.end(env)

def _clean_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, "typing_extensions", clean("typing-extensions"))
    asserts.equals(env, "zope_interface", clean("Zope.Interface"))
    return unittest.end(env)

absolute_test = unittest.make(_absolute_impl)
hash_must_match_test = unittest.make(_hash_must_match_impl)
relative_test = unittest.make(_relative_impl)
clean_test = unittest.make(_clean_impl)

def wheels_tests(name):
    unittest.suite(name, absolute_test, hash_must_match_test, relative_test, clean_test)
