"""Tests for render.py: the text format parser and the page it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.docs import render

MODULE = r"""
module_docstring: "Module doc.\nSecond line."
rule_info {
  rule_name: "my_rule"
  doc_string: "Does a thing."
  attribute { name: "name" doc_string: "A unique name." type: NAME mandatory: true }
  attribute { name: "srcs" doc_string: "Files | with a pipe." type: LABEL_LIST default_value: "[]" }
}
func_info {
  function_name: "helper"
  doc_string: "Helps \"quoted\"."
  parameter { name: "x" doc_string: "The x." mandatory: true }
  return { doc_string: "A string." }
}
"""


def test_parse_nested_and_repeated_fields() -> None:
    parsed = render.parse(MODULE)
    (rule,) = parsed["rule_info"]
    assert [a["name"][0] for a in rule["attribute"]] == ["name", "srcs"]
    assert parsed["module_docstring"] == ["Module doc.\nSecond line."]
    assert parsed["func_info"][0]["doc_string"] == ['Helps "quoted".']


def test_page_has_every_entry_with_its_table() -> None:
    page = render.render(render.parse(MODULE), "@x//:defs.bzl")
    assert page.startswith("# `@x//:defs.bzl`\n")
    assert "Module doc.\nSecond line." in page
    assert "## `helper` (function)" in page and "**Returns:** A string." in page
    assert "## `my_rule` (rule)" in page
    assert "| `srcs` | Files \\| with a pipe. | label list | no | `[]` |" in page
    assert page.index("`helper`") < page.index("`my_rule`")  # sorted by name


@pytest.mark.parametrize("bad", ['rule_info { rule_name: "x"', "rule_info }", '"loose"', "x:"])
def test_malformed_input_is_an_error(bad: str) -> None:
    with pytest.raises(render.RenderError):
        render.parse(bad)


def test_main_writes_the_page(tmp_path: Path) -> None:
    src = tmp_path / "m.textproto"
    src.write_text(MODULE)
    out = tmp_path / "m.md"
    assert render.main(["--input", str(src), "--output", str(out), "--title", "t"]) == 0
    assert "## `my_rule` (rule)" in out.read_text()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
