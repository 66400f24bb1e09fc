"""Render the ModuleInfo that Bazel's `starlark_doc_extract` writes (text format) as Markdown.

stardoc 0.8.1 (Debian's bazel-stardoc) runs `starlark_doc_extract` and then a Java renderer;
that renderer needs rules_java's java_tools, a download these machines cannot make. The
extraction is Bazel's own and works offline, so only the rendering is done here: one page per
public .bzl file, with each rule's attributes, each macro's and function's parameters, each
provider's fields, and each module extension's tag classes.

    render.py --input X.textproto --output X.md --title "@rules_oci//oci:defs.bzl"
"""

from __future__ import annotations

import re
import sys
from typing import Any

from kit_lib import cli, layout

Message = dict[str, list[Any]]

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[{}:])|(?P<word>[A-Za-z0-9_.+-]+)|(?P<end>$))',
    re.S,
)
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\"}


class RenderError(ValueError):
    """The input is not the text format this renderer reads; the message is one line."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise RenderError(f"unexpected text at offset {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or "end"
        if kind == "end":
            return out
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), value[1:-1])
        out.append((kind, value))
        pos = match.end()


def parse(text: str) -> Message:
    """Parse protobuf text format into {field: [values]} (nested messages are dicts)."""
    tokens = _tokens(text)
    pos = 0

    def message(closing: bool) -> Message:
        nonlocal pos
        fields: Message = {}
        while pos < len(tokens):
            kind, value = tokens[pos]
            if kind == "punct" and value == "}":
                if not closing:
                    raise RenderError("unbalanced '}'")
                pos += 1
                return fields
            if kind != "word":
                raise RenderError(f"expected a field name, got {value!r}")
            pos += 1
            if pos < len(tokens) and tokens[pos] == ("punct", ":"):
                pos += 1
            if pos >= len(tokens):
                raise RenderError(f"field {value!r} has no value")
            if tokens[pos] == ("punct", "{"):
                pos += 1
                fields.setdefault(value, []).append(message(True))
            elif tokens[pos][0] == "punct":
                raise RenderError(f"field {value!r} has no value")
            else:
                fields.setdefault(value, []).append(tokens[pos][1])
                pos += 1
        if closing:
            raise RenderError("missing '}'")
        return fields

    return message(False)


def _one(msg: Message, key: str, default: str = "") -> str:
    values = msg.get(key) or [default]
    return str(values[0])


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _doc(msg: Message) -> list[str]:
    doc = _one(msg, "doc_string").strip()
    return [doc, ""] if doc else []


def _rule(rule: Message) -> list[str]:
    rows = [
        [
            f"`{_one(a, 'name')}`",
            _one(a, "doc_string"),
            _one(a, "type").lower().replace("_", " "),
            "yes" if _one(a, "mandatory") == "true" else "no",
            f"`{_one(a, 'default_value')}`" if a.get("default_value") else "",
        ]
        for a in rule.get("attribute", [])
    ]
    return _doc(rule) + _table(["attribute", "description", "type", "mandatory", "default"], rows)


def _function(func: Message) -> list[str]:
    rows = [
        [
            f"`{_one(p, 'name')}`",
            _one(p, "doc_string"),
            "yes" if _one(p, "mandatory") == "true" else "no",
            f"`{_one(p, 'default_value')}`" if p.get("default_value") else "",
        ]
        for p in func.get("parameter", [])
    ]
    lines = _doc(func) + _table(["parameter", "description", "mandatory", "default"], rows)
    returns = func.get("return")
    if returns:
        lines += ["**Returns:** " + _one(returns[0], "doc_string"), ""]
    return lines


def _provider(provider: Message) -> list[str]:
    rows = [[f"`{_one(f, 'name')}`", _one(f, "doc_string")] for f in provider.get("field_info", [])]
    return _doc(provider) + _table(["field", "description"], rows)


def _extension(ext: Message) -> list[str]:
    lines = _doc(ext)
    for tag in ext.get("tag_class", []):
        lines += [f"**Tag class `{_one(tag, 'tag_name')}`**", "", *_rule(tag)]
    return lines


def render(module: Message, title: str) -> str:
    """The Markdown page for one .bzl file."""
    lines = [f"# `{title}`", "", "<!-- Generated by //docs:update from the .bzl file. -->", ""]
    doc = _one(module, "module_docstring").strip()
    if doc:
        lines += [doc, ""]
    sections = [
        ("rule_info", "rule_name", "rule", _rule),
        ("func_info", "function_name", "function", _function),
        ("macro_info", "macro_name", "macro", _function),
        ("provider_info", "provider_name", "provider", _provider),
        ("module_extension_info", "extension_name", "module extension", _extension),
    ]
    entries = []
    for field, name_key, kind, render_one in sections:
        for item in module.get(field, []):
            entries.append((_one(item, name_key), kind, render_one(item)))
    for name, kind, body in sorted(entries):
        lines += [f"## `{name}` ({kind})", "", *body]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Render one page; one error line and exit 1 on input this renderer cannot read."""
    p = cli.Parser(prog="render_docs", description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, help="starlark_doc_extract's .textproto output")
    p.add_argument("--output", required=True, help="Markdown page to write")
    p.add_argument("--title", required=True, help="the .bzl file's label")
    args = p.parse_args(argv)
    try:
        with open(args.input, encoding="utf-8") as f:
            page = render(parse(f.read()), args.title)
    except (OSError, RenderError) as err:
        print(f"render_docs: error: {args.input}: {err}", file=sys.stderr)
        return 1
    layout.write_file_atomic(args.output, page.encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
