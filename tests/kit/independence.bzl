"""`kit_independence_test`: the kit's tests must not depend on this product.

An aspect walks every attribute of the given targets, transitively, and collects the labels
that belong to the main repository. The kit modules cannot see the product through their own
MODULE.bazel, but a canonical label (`@@//app`) would still reach it; this catches that.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

MainRepoLabelsInfo = provider(
    doc = "Labels of the main repository found below a target.",
    fields = {"labels": "depset of Label"},
)

def _is_main(label):
    return label.workspace_name in ("", "_main")

def _collect_impl(target, ctx):
    found = [target.label] if _is_main(target.label) else []
    transitive = []
    for name in dir(ctx.rule.attr):
        value = getattr(ctx.rule.attr, name)
        for dep in (value if type(value) == "list" else [value]):
            if type(dep) == "Target" and MainRepoLabelsInfo in dep:
                transitive.append(dep[MainRepoLabelsInfo].labels)
    return [MainRepoLabelsInfo(labels = depset(found, transitive = transitive))]

_collect = aspect(
    implementation = _collect_impl,
    attr_aspects = ["*"],
)

def _independence_test_impl(ctx):
    env = analysistest.begin(ctx)
    found = sorted([str(label) for label in ctx.attr.target_under_test[MainRepoLabelsInfo].labels.to_list()])
    asserts.equals(env, [], found, "kit targets that depend on the product")
    return analysistest.end(env)

_independence_test = analysistest.make(
    _independence_test_impl,
    extra_target_under_test_aspects = [_collect],
)

def _control_test_impl(ctx):
    env = analysistest.begin(ctx)
    found = ctx.attr.target_under_test[MainRepoLabelsInfo].labels.to_list()
    asserts.true(env, len(found) > 0, "the aspect found no product label below a product target")
    return analysistest.end(env)

# The control: on a product target the aspect must find product labels, or the check is blind.
aspect_control_test = analysistest.make(
    _control_test_impl,
    extra_target_under_test_aspects = [_collect],
)

def kit_independence_test(name, targets):
    """One analysis test per kit target: nothing below it is in the main repository.

    Args:
      name: Name of the test_suite of them all.
      targets: Labels of kit targets (tests and what they build).
    """
    tests = []
    for i, target in enumerate(targets):
        test = "%s_%d" % (name, i)
        _independence_test(name = test, target_under_test = target)
        tests.append(":" + test)
    native.test_suite(name = name, tests = tests)
