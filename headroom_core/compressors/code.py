"""Source code: an outline with original line numbers, function bodies elided behind markers.

Kept verbatim: imports, top-level statements and constants, decorators and whole signatures
(multi-line parameter lists included), class/impl/interface/struct/trait/enum structure and fields,
the first paragraph of docstrings and long comments, and every body whose symbol the query names.
Each elided run of lines becomes one marker that says what went, how many lines and which ones.
tree-sitter finds the definitions with one query per language (`_code_languages`); text that does
not parse cleanly is left alone. Knows nothing of wire formats or of the other content kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..markers import is_headroom_output, marker
from ..result import Kind
from . import Compressed, Context, elision
from ._code_languages import SPECS, language, languages_for_content, languages_for_tool_args, query

if TYPE_CHECKING:
    import tree_sitter

__all__ = ["compress_code", "source_languages"]

MIN_LINES = 40              # shorter files are read whole
MAX_CHARS = 4_000_000       # beyond this a parse costs more than a second
MIN_ELIDED_LINES = 4        # a marker costs about as much as three short lines
DOC_LINES = 8               # docstrings and comment blocks up to this long stay whole
WRAPPER_SHARE = 0.5         # a function body holding half the file and other functions is a module wrapper
MAX_KEPT_SHARE = 0.9        # an outline that keeps more than this of the text is not worth a marker
_NAME_CHARS = 60

# `cat -n` (`     1\tcode`) and Claude Code's Read (`     1→code`) line prefixes.
_LINE_PREFIX = re.compile(r" *(\d+)(?:\t|→)")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_COMMENT_PUNCTUATION = re.compile(r"[\s/*#!;=\-\"'`]+")
_INDENT = re.compile(r"[ \t]*")


def source_languages(tool_args: str | None) -> tuple[str, ...]:
    """The languages a tool call's arguments point at (a source file path, or one named in a shell
    command), most likely first; () when the call names no source file. No tree-sitter needed.

    >>> source_languages('{"file_path": "/repo/src/app.py"}'), source_languages('{"command": "sed -n 1,80p lib.rs"}')
    (('python',), ('rust',))
    """
    return languages_for_tool_args(tool_args)


def compress_code(text: str, ctx: Context) -> Compressed | None:
    """An outline of a source file: structure and signatures kept with their line numbers, bodies elided.

    The language comes from the tool call's file path, else from the text. Lines keep their
    original numbers: a `cat -n`/Read prefix is kept as it was, and unnumbered code gets one.
    None when the text is short, does not parse cleanly, already holds markers, or too little
    would be elided. Raises ImportError naming the `code` extra when tree-sitter is missing.

    >>> from headroom_core.config import Config
    >>> body = "".join(f"    v{j} = a * {j} + b\\n" for j in range(8)) + "    return v7\\n\\n"
    >>> src = "import os\\n\\n" + "".join(f"def step{i}(a, b):\\n" + body for i in range(5))
    >>> out = compress_code(src, Context(Config(ccr=False), query="why is step3 slow?")).text
    >>> out.split("\\n")[:4]
    ['1\\timport os', '2\\t', '3\\tdef step0(a, b):', '    [[headroom: body of step0 elided (9 lines, 4-12)]]']
    >>> "37\\t    v0 = a * 0 + b" in out  # step3, named in the query, stays whole
    True
    """
    if ctx.lossless_only or len(text) > MAX_CHARS or text.count("\n") < MIN_LINES or is_headroom_output(text):
        return None
    source = _split_prefixes(text)
    if len(source.code_lines) < MIN_LINES:
        return None
    code = "\n".join(source.code_lines)
    candidates = languages_for_tool_args(ctx.tool_args) or languages_for_content(code)
    wanted = frozenset(name for name in _IDENTIFIER.findall(ctx.query) if len(name) >= 3)
    for name in candidates:
        plan = _plan(source, code, name, wanted)
        if plan is not None:
            break
    else:
        return None
    if not plan:
        return None
    elided = sum(e.last - e.first + 1 for e in plan)
    bodies = sum(1 for e in plan if e.is_body)
    reason = (
        f"{name} outline: {bodies} bodies and {len(plan) - bodies} comment blocks elided, "
        f"{elided} of {len(source.code_lines)} lines"
    )
    result = elision(text, _renderer(source, plan), Kind.CODE, reason, ctx)
    if len(result.text) > MAX_KEPT_SHARE * len(text):
        return None
    return result


@dataclass(frozen=True, slots=True)
class _Source:
    lines: tuple[str, ...]           # every line of the text as given
    code_lines: tuple[str, ...]      # the code, line prefixes removed
    numbers: tuple[int, ...]         # the number each code line is shown with
    is_prefixed: bool


@dataclass(frozen=True, slots=True)
class _Elision:
    first: int                       # code rows, 0-based and inclusive
    last: int
    what: str
    is_body: bool


def _split_prefixes(text: str) -> _Source:
    """The code without `cat -n`/Read prefixes. Lines after the numbered run (Claude Code appends
    a reminder there) stay in `lines` and are rendered as they came, never parsed."""
    lines = tuple(text.split("\n"))
    code: list[str] = []
    numbers: list[int] = []
    for line in lines:
        match = _LINE_PREFIX.match(line)
        if match is None:
            break
        code.append(line[match.end():])
        numbers.append(int(match.group(1)))
    if len(code) >= MIN_LINES and all(b == a + 1 for a, b in zip(numbers, numbers[1:])):
        return _Source(lines, tuple(code), tuple(numbers), is_prefixed=True)
    return _Source(lines, lines, tuple(range(1, len(lines) + 1)), is_prefixed=False)


def _plan(source: _Source, code: str, name: str, wanted: frozenset[str]) -> tuple[_Elision, ...] | None:
    """What to elide, in order; None when the code does not parse cleanly as `name`."""
    grammar = language(name)  # first: a missing `code` extra raises here, naming it
    import tree_sitter

    data = code.encode("utf-8", "surrogatepass")
    tree = tree_sitter.Parser(grammar).parse(data)
    root = tree.root_node
    if root.has_error:
        return None
    bodies: list[tuple[int, int, str]] = []
    kept: list[tuple[int, int]] = []
    comments: list[tree_sitter.Node] = []
    docstrings: list[tree_sitter.Node] = []
    spec = SPECS[name]
    lines = source.code_lines
    for _, captures in tree_sitter.QueryCursor(query(name)).matches(root):
        if "comment" in captures:
            comments.extend(captures["comment"])
            continue
        node = (captures.get("def") or captures["container"])[0]
        label = _name(node)
        if label and _last_identifier(label) in wanted:
            kept.append((node.start_point.row, node.end_point.row))
        if "container" in captures:
            if name == "python":
                docstrings.extend(_docstring(node.child_by_field_name("body")))
            continue
        span = _body_span(node, captures["body"][0], data, spec.is_indented, lines)
        if span is not None:
            bodies.append((span[0], span[1], label or node.type.replace("_", " ")))
    if name == "python":
        docstrings.extend(_docstring(root))
    chosen = _outermost(bodies, kept, len(lines))
    notes = [(start, end, "more comment lines") for start, end in _comment_blocks(comments, lines)] + [
        (node.start_point.row, node.end_point.row, "rest of docstring") for node in docstrings
    ]
    plan = [
        _Elision(first, last, f"body of {_clip(label)}", is_body=True) for first, last, label in chosen
    ]
    taken = [(e.first, e.last) for e in plan] + kept
    for start, end, what in sorted(notes):
        first = _paragraph_end(lines, start, end) + 1
        if end - first + 1 >= MIN_ELIDED_LINES and not any(a <= end and first <= b for a, b in taken):
            plan.append(_Elision(first, end, what, is_body=False))
            taken.append((first, end))
    return tuple(sorted(plan, key=lambda e: e.first))


def _body_span(
    node: "tree_sitter.Node", body: "tree_sitter.Node", data: bytes, is_indented: bool, lines: tuple[str, ...]
) -> tuple[int, int] | None:
    """The rows of a body that may go: inside the braces, or, for indented bodies, the rows after
    the signature (after the first paragraph of a Python docstring)."""
    start, end = body.start_point.row, body.end_point.row
    if data[body.start_byte:body.start_byte + 1] == b"{":
        first, last = start + 1, end - 1
    else:
        header = body
        while header.prev_sibling is None and header.parent is not None and header != node:
            header = header.parent
        signature_end = header.prev_sibling.end_point.row if header.prev_sibling is not None else node.start_point.row
        first, last = max(start, signature_end + 1), end
        if is_indented and node.type == "function_definition":
            for doc in _docstring(body):
                first = max(first, _paragraph_end(lines, doc.start_point.row, doc.end_point.row) + 1)
    if last - first + 1 < MIN_ELIDED_LINES:
        return None
    return first, last


def _docstring(block: "tree_sitter.Node | None") -> tuple["tree_sitter.Node", ...]:
    """A Python module's, class's or function's docstring node, when its first statement is one."""
    if block is None:
        return ()
    for child in block.named_children:
        if child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count == 1:
            string = child.named_children[0]
            if string.type in ("string", "concatenated_string"):
                return (string,)
        return ()
    return ()


def _outermost(
    bodies: list[tuple[int, int, str]], kept: list[tuple[int, int]], line_count: int
) -> list[tuple[int, int, str]]:
    """The bodies to elide: not inside (or around) a body the query named, not inside another
    elided body, and not a module wrapper (an IIFE or `describe` callback holding most of the file)."""
    ordered = sorted(bodies, key=lambda b: (b[0], -b[1]))
    chosen: list[tuple[int, int, str]] = []
    covered_until = -1
    for i, (first, last, label) in enumerate(ordered):
        if first <= covered_until:
            continue
        if any(a <= last and first <= b for a, b in kept):
            continue
        is_wrapper = (last - first + 1) >= WRAPPER_SHARE * line_count and any(
            first <= f and l <= last for f, l, _ in ordered[i + 1:]
        )
        if is_wrapper:
            continue
        chosen.append((first, last, label))
        covered_until = last
    return chosen


def _comment_blocks(comments: list["tree_sitter.Node"], lines: tuple[str, ...]) -> list[tuple[int, int]]:
    """Runs of comment lines that stand on their own lines, as (first row, last row)."""
    blocks: list[tuple[int, int]] = []
    for node in sorted(comments, key=lambda n: n.start_byte):
        row, column = node.start_point
        if lines[row][:column].strip():
            continue  # a trailing comment after code
        end = node.end_point.row
        if node.end_point.column == 0 and end > row:
            end -= 1  # Rust's line comments end at the start of the next line
        if blocks and blocks[-1][1] + 1 >= row:
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((row, end))
    return [block for block in blocks if block[1] - block[0] + 1 > DOC_LINES]


def _paragraph_end(lines: tuple[str, ...], start: int, end: int) -> int:
    """The last row to keep of a docstring or comment block: all of it when short, else its first
    paragraph (at most DOC_LINES rows)."""
    if end - start + 1 <= DOC_LINES:
        return end
    seen_text = False
    for row in range(start, start + DOC_LINES):
        if _COMMENT_PUNCTUATION.sub("", lines[row]):
            seen_text = True
        elif seen_text:
            return row - 1
    return start + DOC_LINES - 1


def _name(node: "tree_sitter.Node") -> str:
    """A definition's name: its `name` field, the C declarator inside, or what it is assigned to."""
    named = node.child_by_field_name("name")
    if named is None:
        declarator = node.child_by_field_name("declarator")
        while declarator is not None:
            inner = declarator.child_by_field_name("declarator")
            if inner is None:
                break
            declarator = inner
        named = declarator
    if named is None and node.parent is not None:
        for field in ("name", "key", "left", "property"):
            named = node.parent.child_by_field_name(field)
            if named is not None:
                break
    if named is None or named.end_byte - named.start_byte > 200:
        return ""
    return named.text.decode("utf-8", "replace")


def _last_identifier(label: str) -> str:
    found = _IDENTIFIER.findall(label)
    return found[-1] if found else label


def _clip(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= _NAME_CHARS else label[: _NAME_CHARS - 1] + "…"


def _renderer(source: _Source, plan: tuple[_Elision, ...]) -> Callable[[str | None], str]:
    def render(rid: str | None) -> str:
        out: list[str] = []
        code = source.code_lines
        numbers = source.numbers
        row = 0
        for elided in plan:
            out.extend(_numbered(source, r) for r in range(row, elided.first))
            count = elided.last - elided.first + 1
            where = f"{numbers[elided.first]}-{numbers[elided.last]}"
            if numbers[elided.first] != elided.first + 1:
                where += f", retrieve offset={elided.first}"  # the read began mid-file
            indent = next((_INDENT.match(code[r]).group() for r in range(elided.first, elided.last + 1) if code[r].strip()), "")
            out.append(indent + marker(f"{elided.what} elided ({count} lines, {where})", rid))
            row = elided.last + 1
        out.extend(_numbered(source, r) for r in range(row, len(code)))
        out.extend(source.lines[len(code):] if source.is_prefixed else ())
        return "\n".join(out)

    return render


def _numbered(source: _Source, row: int) -> str:
    return source.lines[row] if source.is_prefixed else f"{row + 1}\t{source.code_lines[row]}"
