"""The languages the code outliner knows: grammar wheel, file names, tree-sitter query, detection.

Plain data and pure look-ups. tree-sitter and the grammar wheels are imported on first use only
(STYLE 9.3); a missing `code` extra raises ImportError naming it. Knows nothing of outlines.

Each query captures, per language:
  @def + @body   a function-like definition and the body that the outline may elide
  @container     a class-like definition (kept as structure; its name keeps it whole when queried)
  @comment       a comment node (long comment blocks keep their first paragraph)
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

INSTALL_HINT = "code-aware compression needs the `code` extra: pip install 'headroom[code]'"


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    name: str
    module: str                 # the grammar wheel's import name
    entry: str                  # its function returning the language pointer
    query: str
    is_indented: bool = False   # Python: bodies are blocks without a closing delimiter


def _defs(body: str, *types: str) -> str:
    return "\n".join(f"({t} body: ({body}) @body) @def" for t in types)


def _containers(*types: str) -> str:
    return "\n".join(f"({t}) @container" for t in types)


def _comments(*types: str) -> str:
    return "\n".join(f"({t}) @comment" for t in types)


_JS_DEFS = (
    _defs("statement_block", "function_declaration", "generator_function_declaration", "method_definition",
          "function_expression", "generator_function", "arrow_function")
)

_TS_EXTRA = _containers("abstract_class_declaration", "interface_declaration", "enum_declaration", "internal_module")

SPECS: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec(
            "python", "tree_sitter_python", "language",
            _defs("block", "function_definition") + "\n" + _containers("class_definition") + "\n" + _comments("comment"),
            is_indented=True,
        ),
        LanguageSpec(
            "javascript", "tree_sitter_javascript", "language",
            _JS_DEFS + "\n" + _containers("class_declaration", "class") + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "typescript", "tree_sitter_typescript", "language_typescript",
            _JS_DEFS + "\n" + _containers("class_declaration", "class") + "\n" + _TS_EXTRA + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "tsx", "tree_sitter_typescript", "language_tsx",
            _JS_DEFS + "\n" + _containers("class_declaration", "class") + "\n" + _TS_EXTRA + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "go", "tree_sitter_go", "language",
            _defs("block", "function_declaration", "method_declaration", "func_literal") + "\n"
            + _containers("type_spec") + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "rust", "tree_sitter_rust", "language",
            _defs("block", "function_item", "closure_expression") + "\n"
            + _containers("impl_item", "trait_item", "mod_item", "struct_item", "enum_item", "union_item") + "\n"
            + _comments("line_comment", "block_comment"),
        ),
        LanguageSpec(
            "java", "tree_sitter_java", "language",
            _defs("block", "method_declaration", "lambda_expression", "compact_constructor_declaration") + "\n"
            + _defs("constructor_body", "constructor_declaration") + "\n"
            + "(static_initializer (block) @body) @def\n"
            + _containers("class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
                          "annotation_type_declaration") + "\n"
            + _comments("line_comment", "block_comment"),
        ),
        LanguageSpec(
            "c", "tree_sitter_c", "language",
            _defs("compound_statement", "function_definition") + "\n"
            + _containers("struct_specifier", "union_specifier", "enum_specifier") + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "cpp", "tree_sitter_cpp", "language",
            _defs("compound_statement", "function_definition", "lambda_expression") + "\n"
            + _containers("class_specifier", "struct_specifier", "union_specifier", "enum_specifier",
                          "namespace_definition") + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "csharp", "tree_sitter_c_sharp", "language",
            _defs("block", "method_declaration", "constructor_declaration", "destructor_declaration",
                  "operator_declaration", "conversion_operator_declaration", "local_function_statement",
                  "accessor_declaration", "lambda_expression") + "\n"
            + _containers("class_declaration", "struct_declaration", "interface_declaration", "record_declaration",
                          "enum_declaration", "namespace_declaration") + "\n" + _comments("comment"),
        ),
        LanguageSpec(
            "ruby", "tree_sitter_ruby", "language",
            _defs("body_statement", "method", "singleton_method") + "\n"
            + _containers("class", "module", "singleton_class") + "\n" + _comments("comment"),
            is_indented=True,
        ),
        LanguageSpec(
            "php", "tree_sitter_php", "language_php",
            _defs("compound_statement", "function_definition", "method_declaration", "anonymous_function") + "\n"
            + _containers("class_declaration", "interface_declaration", "trait_declaration", "enum_declaration") + "\n"
            + _comments("comment"),
        ),
        LanguageSpec(
            "kotlin", "tree_sitter_kotlin", "language",
            "(function_declaration (function_body (block) @body)) @def\n"
            "(getter (function_body (block) @body)) @def\n"
            "(setter (function_body (block) @body)) @def\n"
            "(secondary_constructor (block) @body) @def\n"
            "(anonymous_initializer (block) @body) @def\n"
            + _containers("class_declaration", "object_declaration", "companion_object") + "\n"
            + _comments("line_comment", "block_comment"),
        ),
        LanguageSpec(
            "bash", "tree_sitter_bash", "language",
            _defs("compound_statement", "function_definition") + "\n" + _comments("comment"),
        ),
    )
}


_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "py": ("python",), "pyi": ("python",), "pyw": ("python",),
    "js": ("javascript",), "mjs": ("javascript",), "cjs": ("javascript",), "jsx": ("javascript",),
    "ts": ("typescript",), "mts": ("typescript",), "cts": ("typescript",), "tsx": ("tsx",),
    "go": ("go",),
    "rs": ("rust",),
    "java": ("java",),
    "c": ("c",), "h": ("c", "cpp"),
    "cc": ("cpp",), "cpp": ("cpp",), "cxx": ("cpp",), "c++": ("cpp",), "hpp": ("cpp",), "hh": ("cpp",),
    "hxx": ("cpp",), "h++": ("cpp",), "ipp": ("cpp",), "tpp": ("cpp",), "inl": ("cpp",), "cu": ("cpp",),
    "cuh": ("cpp",),
    "cs": ("csharp",),
    "rb": ("ruby",), "rake": ("ruby",), "gemspec": ("ruby",), "ru": ("ruby",),
    "php": ("php",), "phtml": ("php",),
    "kt": ("kotlin",), "kts": ("kotlin",),
    "sh": ("bash",), "bash": ("bash",), "zsh": ("bash",), "ksh": ("bash",),
}
_FILENAMES: dict[str, tuple[str, ...]] = {
    "rakefile": ("ruby",), "gemfile": ("ruby",), ".bashrc": ("bash",), ".bash_profile": ("bash",),
    ".profile": ("bash",), ".zshrc": ("bash",),
}

_PATH_KEYS = ("file_path", "path", "filename", "notebook_path", "file", "target_file", "absolute_path")
_COMMAND_KEYS = ("command", "cmd", "script")
_EXTENSION_GROUP = "|".join(sorted((re.escape(e) for e in _EXTENSIONS), key=lambda e: (-len(e), e)))
_PATH_IN_COMMAND = re.compile(rf"(?<![\w.])([\w./~+@-]*[\w-]\.(?:{_EXTENSION_GROUP}))(?![\w.+])")


def languages_for_path(path: str) -> tuple[str, ...]:
    """Candidate languages for a file name, most likely first; () when it is not a source file.

    >>> languages_for_path("/src/app/main.go"), languages_for_path("x.h"), languages_for_path("a.txt")
    (('go',), ('c', 'cpp'), ())
    """
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    known = _FILENAMES.get(base.lower())
    if known:
        return known
    if "." not in base:
        return ()
    return _EXTENSIONS.get(base.rsplit(".", 1)[-1].lower(), ())


def languages_for_tool_args(tool_args: str | None) -> tuple[str, ...]:
    """Candidate languages from a tool call's JSON arguments: a path argument, or a source file
    named in a shell command (`cat x.go`, `sed -n 1,200p src/lib.rs`, `nl -ba a.py`)."""
    if not tool_args or "." not in tool_args:
        return ()
    try:
        args = json.loads(tool_args)
    except ValueError:
        return ()
    if not isinstance(args, dict):
        return ()
    for key in _PATH_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value:
            found = languages_for_path(value)
            if found:
                return found
    for key in _COMMAND_KEYS:
        value = args.get(key)
        if isinstance(value, list):
            value = " ".join(part for part in value if isinstance(part, str))
        if isinstance(value, str):
            for match in _PATH_IN_COMMAND.finditer(value):
                found = languages_for_path(match.group(1))
                if found:
                    return found
    return ()


# Content detection: cheap line patterns, each worth one point for its language. The sum over the
# first lines decides; ties go to the earlier language in this table (deterministic).
_SHEBANGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"python"), "python"),
    (re.compile(r"\b(?:node|bun)\b"), "javascript"),
    (re.compile(r"\b(?:deno|ts-node|tsx)\b"), "typescript"),
    (re.compile(r"\bruby\b"), "ruby"),
    (re.compile(r"\bphp\b"), "php"),
    (re.compile(r"\bkotlin"), "kotlin"),
    (re.compile(r"\b(?:ba|z|k|da)?sh\b"), "bash"),
)
_SIGNALS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.MULTILINE))
    for name, pattern in (
        ("python", r"^\s*(?:async\s+)?def \w+\(.*$|^\s*class \w+(?:\(.*\))?:\s*$|^from [\w.]+ import |^import [\w.]+(?: as \w+)?\s*$|\bself\.\w|^\s*elif\b|^\s*except\b.*:\s*$"),
        ("go", r"^package \w+\s*$|^func |\s:= |^import \($|\berr != nil\b"),
        ("rust", r"^\s*(?:pub(?:\(\w+\))? )?(?:fn|struct|enum|trait|impl|mod) \w|^use [\w:]+(?:::\{.*\})?;|\blet mut \b|^\s*#\[\w|\bSelf\b|&self\b"),
        ("java", r"^package [\w.]+;\s*$|^import (?:static )?[\w.*]+;\s*$|^\s*(?:public|private|protected) (?:static |final |abstract )*(?:class|interface|enum|record) \w|^\s*@Override\b|\bSystem\.out\."),
        ("kotlin", r"^package [\w.]+\s*$|^import [\w.*]+\s*$|^\s*(?:private |internal |override |suspend |inline )*fun (?:<.*> )?[\w.]+\(|^\s*(?:data |sealed |enum )?class \w+\(|\bval \w+\s*[:=]"),
        ("csharp", r"^using [\w.]+;\s*$|^\s*namespace [\w.]+\s*(?:\{|;)?\s*$|\{ get; (?:private )?set; \}|^\s*\[\w+(?:\(.*\))?\]\s*$|\bpublic (?:static |override |async |virtual )*[\w<>\[\]]+ \w+\("),
        ("typescript", r"^\s*(?:export )?(?:interface|type) \w+(?:<.*>)? ?[={]|:\s*(?:string|number|boolean|void|unknown|any)\b|^import type |\bas const\b|^\s*(?:private|public|readonly) \w+[?!]?:"),
        ("javascript", r"\brequire\([\"']|^\s*(?:export )?(?:async )?function\*? ?\w*\(|^\s*(?:const|let|var) \w+ = |=> \{|\bmodule\.exports\b|^export (?:default|const|function|class)\b|^import .* from [\"']|\bconsole\.log\("),
        ("cpp", r"^#include <(?:iostream|vector|string|memory|map|algorithm|utility)>|\bstd::|^\s*template ?<|^\s*namespace \w+ \{|^\s*(?:public|private|protected):\s*$|\bnullptr\b|::\w+\("),
        ("c", r"^#include [<\"][\w/]+\.h[>\"]|^#define \w|^(?:static )?(?:inline )?(?:const )?(?:unsigned |struct )?\w+ \**\w+\((?:void|[\w\s*,]+)\)\s*\{?\s*$|\bmalloc\(|\bprintf\(|\bNULL\b"),
        ("ruby", r"^\s*def [\w.?!]+(?:\(.*\))?\s*$|^\s*end\s*$|^require(?:_relative)? ['\"]|^\s*(?:module|class) [A-Z]\w*(?:::\w+)*(?: < [\w:]+)?\s*$|\battr_(?:reader|writer|accessor)\b|\bdo \|"),
        ("php", r"^<\?php|\$this->|^\s*(?:public|private|protected) (?:static )?function \w+\(|^\s*namespace [\w\\]+;|^use [\w\\]+;"),
        ("bash", r"^\s*(?:if|while|until) \[\[? |^\s*(?:fi|done|esac|then|do)\s*$|^\s*(?:export|local|readonly) \w+=|\$\{\w+[:#%/]|^\s*\w+\(\) \{\s*$|^\s*set -[euxo]"),
    )
)
_DETECT_CHARS = 16_000
_DETECT_MIN_SCORE = 3


def languages_for_content(code: str) -> tuple[str, ...]:
    """Candidate languages for unlabelled source text (at most two, best first), from a shebang or
    `<?php`, else from which language's typical lines are the most common in its first 16 KB.

    >>> languages_for_content("#!/usr/bin/env python3\\nprint(1)\\n")
    ('python',)
    """
    head = code[:_DETECT_CHARS]
    first = head.lstrip()[:200].split("\n", 1)[0]
    if first.startswith("#!"):
        for pattern, name in _SHEBANGS:
            if pattern.search(first):
                return (name,)
    if first.startswith("<?php"):
        return ("php",)
    scores = [(len(pattern.findall(head)), -i, name) for i, (name, pattern) in enumerate(_SIGNALS)]
    ranked = sorted(scores, reverse=True)
    return tuple(name for score, _, name in ranked[:2] if score >= _DETECT_MIN_SCORE)


@functools.cache
def language(name: str) -> "tree_sitter.Language":
    spec = SPECS[name]
    try:
        import tree_sitter

        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    return tree_sitter.Language(getattr(module, spec.entry)())


@functools.cache
def query(name: str) -> "tree_sitter.Query":
    import tree_sitter

    return tree_sitter.Query(language(name), SPECS[name].query)
