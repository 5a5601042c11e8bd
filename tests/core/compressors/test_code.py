"""compress_code on real source trees installed here, plus the samples in tests/cases/code.

Real files: the standard library and site-packages (Python), node_modules (JavaScript), the JDK's
src.zip (Java), rustdoc's rendered std sources (Rust), git's contrib (Go), /usr/share and
site-packages (C, C++, Bash), the Cloud SDK (PHP). This machine has no Ruby, Kotlin, TSX, C# or
TypeScript sources with bodies (and barely any parseable C++), so tests/cases/code holds one
hand-written, real-world-shaped file for each of those.
"""

from __future__ import annotations

import ast
import glob
import html
import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

tree_sitter = pytest.importorskip("tree_sitter")

from headroom_core.compressors import Context  # noqa: E402
from headroom_core.compressors.code import compress_code, source_languages  # noqa: E402
from headroom_core.config import Config  # noqa: E402
from headroom_core.markers import MARKER_PATTERN  # noqa: E402
from headroom_core.retrieval import retrieve  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "cases" / "code"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
PURELIB = Path(sysconfig.get_paths()["purelib"])
HOME = Path.home()
_RANGE = re.compile(r"\((\d+) lines, (\d+)-(\d+)")


def _spread(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def _walk(roots: list[Path | str], suffixes: tuple[str, ...], limit: int, max_bytes: int = 300_000) -> list[tuple[str, str]]:
    found: list[str] = []
    for root in roots:
        for directory, _, names in os.walk(root):
            found.extend(os.path.join(directory, n) for n in names if n.endswith(suffixes) and not n.endswith(".min.js"))
    paths = _spread(sorted(p for p in set(found) if os.path.getsize(p) <= max_bytes), limit)
    return [(p, Path(p).read_text("utf-8", "replace")) for p in paths]


def _samples(*suffixes: str) -> list[tuple[str, str]]:
    return [(str(p), p.read_text("utf-8")) for p in sorted(SAMPLES.iterdir()) if p.suffix in suffixes]


def _rustdoc(limit: int) -> list[tuple[str, str]]:
    pages = sorted(glob.glob(str(HOME / ".rustup/toolchains/stable-*/share/doc/rust/html/src/**/*.rs.html"), recursive=True))
    out = []
    for page in _spread(pages, limit):
        block = re.search(r'<pre class="rust"><code>(.*?)</code></pre>', Path(page).read_text("utf-8"), re.S)
        if block:
            text = re.sub(r"<a href=#\d+ id=\d+ data-nosnippet>\d+</a>", "", block.group(1))
            out.append((page.removesuffix(".html"), html.unescape(re.sub(r"<[^>]+>", "", text))))
    return out


def _jdk(limit: int) -> list[tuple[str, str]]:
    archives = [p for p in sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip")) if os.path.isfile(p)]
    if not archives:
        return []
    with zipfile.ZipFile(archives[0]) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("java.base/java/util/") and n.endswith(".java"))
        return [(n, zf.read(n).decode("utf-8")) for n in _spread(names, limit)]


def corpus(language: str) -> list[tuple[str, str]]:
    """(path, text) of a bounded, deterministic sample of real files, then the samples."""
    if language == "python":
        return _walk([STDLIB], (".py",), 30) + _walk([PURELIB], (".py",), 20)
    if language == "javascript":
        return _walk(["/usr/lib/node_modules"], (".js", ".cjs", ".mjs"), 25)
    if language == "typescript":
        return _samples(".ts")
    if language == "tsx":
        return _samples(".tsx")
    if language == "go":
        return _walk(["/usr/share/doc/git/contrib", "/usr/lib/go/src"], (".go",), 15)
    if language == "rust":
        return _rustdoc(25)
    if language == "java":
        return _jdk(20)
    if language == "c":
        return _walk(["/usr/share/doc", PURELIB], (".c",), 30)
    if language == "cpp":
        return _walk(["/usr/share", "/usr/lib/node_modules", PURELIB], (".cpp", ".cc", ".hpp"), 15) + _samples(".hpp")
    if language == "csharp":
        return _walk(["/usr/lib/node_modules"], (".cs",), 5) + _samples(".cs")
    if language == "ruby":
        return _samples(".rb")
    if language == "php":
        return _walk(["/usr/lib/google-cloud-sdk/platform/google_appengine/php"], (".php",), 20)
    if language == "kotlin":
        return _samples(".kt")
    if language == "bash":
        return _walk(["/usr/lib/perf-core", "/usr/share/doc"], (".sh",), 20)
    raise AssertionError(language)


# A reference for "top-level and class-level definitions": these node types, when no function-like
# node encloses them. Written independently of the compressor's own queries.
REFERENCE = {
    "javascript": ("function_declaration generator_function_declaration class_declaration method_definition",
                   "function_declaration generator_function_declaration method_definition function_expression arrow_function generator_function"),
    "go": ("function_declaration method_declaration type_declaration const_declaration",
           "function_declaration method_declaration func_literal"),
    "rust": ("function_item struct_item enum_item trait_item impl_item mod_item const_item static_item function_signature_item",
             "function_item closure_expression"),
    "java": ("class_declaration interface_declaration enum_declaration record_declaration method_declaration constructor_declaration field_declaration",
             "method_declaration constructor_declaration lambda_expression static_initializer"),
    "c": ("function_definition type_definition", "function_definition"),
    "cpp": ("function_definition class_specifier struct_specifier namespace_definition template_declaration",
            "function_definition lambda_expression"),
    "csharp": ("class_declaration struct_declaration interface_declaration record_declaration enum_declaration method_declaration constructor_declaration property_declaration field_declaration",
               "method_declaration constructor_declaration destructor_declaration operator_declaration local_function_statement accessor_declaration lambda_expression"),
    "ruby": ("method singleton_method class module", "method singleton_method"),
    "php": ("function_definition class_declaration interface_declaration trait_declaration method_declaration const_declaration property_declaration",
            "function_definition method_declaration anonymous_function arrow_function"),
    "kotlin": ("class_declaration object_declaration function_declaration property_declaration",
               "function_declaration anonymous_function lambda_literal getter setter secondary_constructor anonymous_initializer"),
    "bash": ("function_definition", "function_definition"),
}
REFERENCE["typescript"] = (
    REFERENCE["javascript"][0] + " interface_declaration abstract_class_declaration enum_declaration type_alias_declaration abstract_method_signature",
    REFERENCE["javascript"][1],
)
REFERENCE["tsx"] = REFERENCE["typescript"]
GRAMMARS = {
    "javascript": ("tree_sitter_javascript", "language"), "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"), "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"), "java": ("tree_sitter_java", "language"), "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"), "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"), "php": ("tree_sitter_php", "language_php"),
    "kotlin": ("tree_sitter_kotlin", "language"), "bash": ("tree_sitter_bash", "language"),
}
# How many files of each language must be outlined for its test to count.
MIN_OUTLINED = {"python": 15, "javascript": 8, "rust": 5, "java": 10, "c": 5, "php": 8, "bash": 5, "go": 3}

EXTENSION_OF = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go", "rust": "rs",
                "java": "java", "c": "c", "cpp": "hpp", "csharp": "cs", "ruby": "rb", "php": "php", "kotlin": "kt",
                "bash": "sh"}


def _ctx(path: str = "", query: str = "", ccr: bool = True) -> Context:
    return Context(Config(ccr=ccr), query=query, tool_args=json.dumps({"file_path": path}) if path else None)


def _reference_rows(language: str, text: str) -> list[int] | None:
    import importlib

    module, entry = GRAMMARS[language]
    lang = tree_sitter.Language(getattr(importlib.import_module(module), entry)())
    tree = tree_sitter.Parser(lang).parse(text.encode("utf-8", "surrogatepass"))
    if tree.root_node.has_error:
        return None
    defs, functions = (set(s.split()) for s in REFERENCE[language])
    pattern = "\n".join(f"({t}) @d" for t in sorted(defs))
    rows = []
    for node in tree_sitter.QueryCursor(tree_sitter.Query(lang, pattern)).captures(tree.root_node).get("d", []):
        parent = node.parent
        while parent is not None and parent.type not in functions:
            parent = parent.parent
        if parent is None:
            rows.append(node.start_point.row)
    return sorted(set(rows))


def _python_rows(text: str) -> list[int]:
    """Rows (0-based) of top-level and class-level defs, their decorators and signature lines."""
    rows: list[int] = []

    def visit(body: list[ast.stmt], in_function: bool) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not in_function:
                    rows.extend(d.lineno - 1 for d in node.decorator_list)
                    rows.append(node.lineno - 1)
                    if isinstance(node, ast.ClassDef):
                        visit(node.body, False)
                    else:
                        # the body starts at its first statement, or at that statement's decorators
                        first = node.body[0]
                        end = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))]) - 1
                        rows.extend(r for r in range(node.lineno - 1, end) if not text_lines[r].lstrip().startswith("#"))
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) and not in_function:
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(node, field, []) or [], False)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, False)

    text_lines = text.split("\n")
    visit(ast.parse(text).body, False)
    return sorted(set(rows))


def _output_rows(out: str) -> dict[int, str]:
    rows = {}
    for line in out.split("\n"):
        number, tab, rest = line.partition("\t")
        if tab and number.isdigit():
            rows[int(number) - 1] = rest
    return rows


def _check_markers(text: str, out: str, originals: dict[str, str]) -> None:
    """Every marker's range retrieves exactly the original lines it stands for."""
    lines = text.split("\n")
    markers = list(MARKER_PATTERN.finditer(out))
    assert markers
    for found in markers:
        count, first, last = map(int, _RANGE.search(found.group("summary")).groups())
        assert last - first + 1 == count
        got = retrieve(originals, found.group("id"), offset=first - 1, limit=count)
        assert got == "\n".join(lines[first - 1:last])


LANGUAGES = ["python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "csharp", "ruby",
             "php", "kotlin", "bash"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_top_level_and_class_level_definition_keeps_its_line_number(language: str) -> None:
    files = corpus(language)
    assert files, f"no {language} source on this machine and no sample"
    outlined = 0
    for path, text in files:
        result = compress_code(text, _ctx(path))
        if result is None:
            continue
        outlined += 1
        rows = _python_rows(text) if language == "python" else _reference_rows(language, text)
        assert rows is not None, f"{path}: outlined although the reference parse failed"
        assert result.reason.startswith(f"{language} outline"), path
        kept = _output_rows(result.text)
        lines = text.split("\n")
        missing = [r + 1 for r in rows if kept.get(r) != lines[r]]
        assert not missing, f"{path}: definitions missing at lines {missing[:10]}"
        assert len(result.text) < len(text)
        _check_markers(text, result.text, dict(result.originals))
    assert outlined >= MIN_OUTLINED.get(language, 1), f"only {outlined} of {len(files)} {language} files outlined"


@pytest.mark.parametrize("language", LANGUAGES)
def test_deterministic(language: str) -> None:
    path, text = next((p, t) for p, t in corpus(language) if compress_code(t, _ctx(p)) is not None)
    first = compress_code(text, _ctx(path))
    assert first == compress_code(text, _ctx(path))
    assert first == compress_code(str(text), _ctx("/elsewhere/copy." + EXTENSION_OF[language]))


@pytest.mark.parametrize("language", ["python", "go", "java", "ruby", "php", "kotlin", "csharp", "rust", "bash"])
def test_language_detected_from_content_when_no_path(language: str) -> None:
    path, text = next((p, t) for p, t in corpus(language) if compress_code(t, _ctx(p)) is not None)
    result = compress_code(text, _ctx())
    assert result is not None and result.reason.startswith(f"{language} outline"), path


def test_language_from_a_shell_command_in_the_tool_args() -> None:
    text = (STDLIB / "shlex.py").read_text()
    ctx = Context(Config(), tool_args=json.dumps({"command": ["bash", "-lc", "sed -n 1,400p Lib/shlex.py"]}))
    assert compress_code(text, ctx).reason.startswith("python outline")
    assert source_languages('{"command": "cat src/main.go | head"}') == ("go",)
    assert source_languages('{"file_path": "/x/include/vec.h"}') == ("c", "cpp")
    assert source_languages('{"file_path": "/x/README.md"}') == ()
    assert source_languages('{"command": "ls -la"}') == ()
    assert source_languages(None) == ()


def test_code_that_does_not_parse_is_left_alone() -> None:
    text = (STDLIB / "shlex.py").read_text()
    broken = text.replace("def split(s, comments=False, posix=True):", "def split(s, comments=False, posix=True:")
    assert compress_code(text, _ctx("shlex.py")) is not None
    assert compress_code(broken, _ctx("shlex.py")) is None
    half = text[: len(text) // 2]
    assert compress_code(half.rsplit("\n", 3)[0] + "\n    def (:\n", _ctx("shlex.py")) is None


def test_small_files_and_marked_text_are_left_alone() -> None:
    small = "import os\n\ndef f(a):\n    x = 1\n    y = 2\n    z = 3\n    return x + y + z + a\n"
    assert compress_code(small, _ctx("s.py")) is None
    text = (STDLIB / "shlex.py").read_text()
    once = compress_code(text, _ctx("shlex.py")).text
    assert compress_code(once, _ctx("shlex.py")) is None
    assert compress_code(text, Context(Config(), tool_args='{"file_path": "shlex.py"}', lossless_only=True)) is None


def test_a_body_the_query_names_stays_whole() -> None:
    text = (STDLIB / "shlex.py").read_text()
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("def read_token("))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("    def "))
    plain = _output_rows(compress_code(text, _ctx("shlex.py")).text)
    named = _output_rows(compress_code(text, _ctx("shlex.py", query="why does read_token drop quotes?")).text)
    assert any(r not in plain for r in range(start, end))
    assert all(named[r] == lines[r] for r in range(start, end))


def test_cat_n_and_read_prefixes_are_kept_and_the_code_parsed_without_them() -> None:
    text = (STDLIB / "shlex.py").read_text().rstrip("\n")
    lines = text.split("\n")
    reminder = "\n\n<system-reminder>\nWhenever you read a file, consider whether it looks malicious.\n</system-reminder>\n"
    for sep in ("\t", "→"):
        numbered = "\n".join(f"{i:6d}{sep}{line}" for i, line in enumerate(lines, start=1)) + reminder
        result = compress_code(numbered, _ctx("/repo/shlex.py"))
        assert result is not None
        given = set(numbered.split("\n"))
        out = result.text.split("\n")
        assert all(line in given or MARKER_PATTERN.search(line) for line in out)
        assert result.text.endswith(reminder)
        for row in _python_rows(text):
            assert f"{row + 1:6d}{sep}{lines[row]}" in out
        _check_markers(numbered, result.text, dict(result.originals))


def test_a_read_that_starts_mid_file_says_where_to_retrieve() -> None:
    lines = (STDLIB / "argparse.py").read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("class ArgumentParser("))
    piece = "\n".join(f"{i + 1:6d}\t{lines[i]}" for i in range(start, start + 600))
    result = compress_code(piece, _ctx("argparse.py"))
    assert result is not None
    rid, original = result.originals[0]
    marker = next(MARKER_PATTERN.finditer(result.text))
    count, first, _ = map(int, _RANGE.search(marker.group("summary")).groups())
    offset = int(re.search(r"retrieve offset=(\d+)", marker.group("summary")).group(1))
    got = retrieve(dict(result.originals), rid, offset=offset, limit=count).split("\n")
    assert got == [f"{n + 1:6d}\t{lines[n]}" for n in range(first - 1, first - 1 + count)]


def test_without_retrieval_markers_carry_no_id() -> None:
    result = compress_code((STDLIB / "shlex.py").read_text(), _ctx("shlex.py", ccr=False))
    assert result.originals == ()
    assert all(m.group("id") is None for m in MARKER_PATTERN.finditer(result.text))


def test_importing_the_module_loads_no_tree_sitter() -> None:
    code = "import sys, headroom_core.compressors.code; print('tree_sitter' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"


def test_a_missing_code_extra_names_it() -> None:
    code = (
        "import sys; sys.modules['tree_sitter'] = None\n"
        "from headroom_core.compressors import Context\n"
        "from headroom_core.compressors.code import compress_code\n"
        "from headroom_core.config import Config\n"
        "try:\n"
        "    compress_code('import os\\n' * 60, Context(Config(), tool_args='{\"file_path\": \"a.py\"}'))\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'headroom[code]'" in out
