"""`message_test`: an analysis test that its target fails to analyse, with a given message.

Every kit module checks its rules' fail() paths with it (the rules' own tests load it).
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _message_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.message)
    return analysistest.end(env)

message_test = analysistest.make(
    _message_test_impl,
    expect_failure = True,
    attrs = {"message": attr.string(doc = "Text the failure must contain.", mandatory = True)},
)
