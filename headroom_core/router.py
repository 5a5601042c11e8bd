"""Routes an eligible segment's text to the compressor for its content kind.

`detect_kind` looks at a bounded sample of lines with cheap, deterministic shape tests (no parsing
of the whole text, no models). `route` runs the lossless pass and the kind's lossy compressor and
keeps the smaller result. Knows the compressors' entry points, nothing of their insides.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from types import MappingProxyType
from typing import Callable, Mapping

from .compressors import Compressed, Context
from .compressors.code import compress_code, source_languages
from .compressors.diff import compress_diff
from .compressors.json_crusher import compress_json
from .compressors.listing import compress_listing
from .compressors.logs import compress_logs
from .compressors.lossless import compact_lossless, fewest_tokens, lossless_forms
from .compressors.prose import compress_prose
from .compressors.search import compress_search
from .compressors.table import compress_table
from .markers import is_headroom_output
from .result import Kind
from .tokens import count_tokens

# How much of a text detection reads: the first lines, and the first characters of each.
SAMPLE_LINES = 200
_SAMPLE_LINE_CHARS = 300
# A lossless result wins unless the lossy one is this much smaller: losing nothing is worth a little.
LOSSLESS_PREFERENCE = 0.9

_LOSSY: Mapping[Kind, Callable[[str, Context], Compressed | None]] = MappingProxyType({
    Kind.JSON: compress_json,
    Kind.LOG: compress_logs,
    Kind.SEARCH: compress_search,
    Kind.LISTING: compress_listing,
    Kind.DIFF: compress_diff,
    Kind.PROSE: compress_prose,
    Kind.TABLE: compress_table,
})

_DIFF_LINE = re.compile(r"diff --git |diff -[a-zA-Z]|@@ -[0-9]+(?:,[0-9]+)? \+[0-9]+(?:,[0-9]+)? @@|Index: |\+\+\+ |--- ")
_HUNK = re.compile(r"@@ -[0-9]+(?:,[0-9]+)? \+[0-9]+(?:,[0-9]+)? @@")
# grep/rg: path:line: or path-line- (context) with a path-like first field; rg --heading: a bare line number.
# A line that starts like a date or a clock ("2026-11-27T09:00:01Z ...", "[09:00:01] ...") is a log
# line, although "2026-11-27T09:00:" reads like `path:line:`.
_GREP = re.compile(r"(?!\[?[0-9]{1,4}[-:/.T ][0-9])(?:\./)?[^\s:]*[\w.\-]+:[0-9]+[:-]")
_GREP_CONTEXT = re.compile(r"(?:\./)?[^\s:]*/[^\s:]*\.\w+-[0-9]+-")
# `path:text` without line numbers; `path.py::test_name` is a pytest node id, not a match.
_GREP_BARE = re.compile(r"(?:\./)?[\w.\-]+(?:/[\w.\-@+]+)+\.\w+:(?!:)\S")
_HEADING_MATCH = re.compile(r"[0-9]+[:-]")
_COMPILER = re.compile(r"[^\s:]+:[0-9]+:[0-9]+: (?:fatal )?(?:error|warning|note|info)\b")
_PATH_LINE = re.compile(r"(?:[.~]?/)?[\w.\-@+ ]*(?:/[\w.\-@+ ]*)*[\w.\-@+/]")
_PATHISH = re.compile(r"[/.]")
_TREE = re.compile(r"\s*(?:[│|]\s*)*(?:[├└`|]──|[├└]─|\|--|`--)")
_LS_LONG = re.compile(r"[-dlcbps][rwxsStT-]{9}[.@+]?\s+[0-9]+\s")
_LOG_TIME = re.compile(
    r"(?:^|[\s\[(])(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?|[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9][0-9] [0-9]{2}:[0-9]{2})"
)
_LOG_LEVEL = re.compile(
    r"\b(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL|CRITICAL|NOTICE|PASSED|FAILED|SKIPPED|XFAIL|XPASS)\b|\[(?:info|warn|error|debug)\]|level=\w"
)
_LOG_SHAPE = re.compile(
    r"(?:=+ .* =+|_{3,} .* _{3,}|collected [0-9]+ items?|Traceback \(most recent call last\)|  File \".*\", line [0-9]+"
    r"|\s+at [\w.$<>]+\(.*\)|npm (?:ERR!|WARN)|(?:Collecting|Downloading|Installing collected packages|Successfully installed"
    r"|Requirement already satisfied|Building wheel|Compiling|Finished|Running|Fresh|Checking) |error(?:\[E[0-9]+\])?: |warning: "
    r"|\S+\.py(?:::\S+)? [.FEsxX]+(?:\s+\[\s*[0-9]+%\])?$|[\w./-]+\.py::\S+|\+ \S|\$ \S|>>> |make(?:\[[0-9]+\])?: |commit [0-9a-f]{40}\b|Date: |Author: | \S.* \| +[0-9]+ [+-]*$| [0-9]+ files? changed)"
)
_CODE = re.compile(
    r"\s*(?:def |class |async def |import |from [\w.]+ import |@\w|if .*:$|elif |else:|for .* in .*:$|while .*:$|try:|except\b|return\b|raise |with .*:$"
    r"|function\b|const |let |var |export |=> |public |private |protected |static |fn |func |package |impl |use [\w:]+;|struct |enum |interface |type \w+ |#include|#define|}\s*$|{\s*$|\)\s*{\s*$|//|/\*|\*/|\* |#!|[\w.\[\]]+ [-+*/|&]?= |\w+=[^=\s].*,$|.*[(\[{]$|.*\):$|[)\]}],?$|\"\"\"|\'\'\')"
)
# Line numbers that file readers put in front of code: "  12\t", "    12→", "12: ".
_LINE_NUMBER = re.compile(r"\s*[0-9]+(?:\t|→|: |\|)")
# A file read with line numbers (cat -n, nl, an agent's Read tool): "     1\tcode" or "   1→code".
_NUMBERED = re.compile(r"( *)([0-9]+)(→|\t)")
# Cheap necessary conditions of the log patterns, tried first (STYLE 9.4).
_LOG_LEVEL_HINT = re.compile(r"INFO|WARN|ERROR|DEBUG|TRACE|FATAL|CRITICAL|NOTICE|PASSED|FAILED|SKIPPED|XFAIL|XPASS|\[|level=")
_ASCII_LETTERS_AND_SPACE = bytes(range(65, 91)) + bytes(range(97, 123)) + b" "
_JSON_VALUE_START = frozenset('"[{-0123456789tfn]')
# Markdown structure: headings, badge/link/image lines, HTML block tags, fences, rules.
_MD_MARKUP = re.compile(r"#{1,6} \S|\[!\[|!\[[^\]]*\]\(|\[[^\]]+\]\([^)]*\)\s*$|</?(?:p|div|img|a|h[1-6]|br|picture|source|table)\b|```|(?:-{3,}|\*{3,}|_{3,})\s*$")
_MD_INLINE = re.compile(r"\]\([^)]*\)|[`*_\[\]|<>]")
_MD_TABLE_RULE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$")
_ALIGNED_GAP = re.compile(r"\S(?: {2,}|\t)(?=\S)")
_HEADER_NAME = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[a-z)][.!?:](?:\s|$)")
_WORDS = re.compile(r"[A-Za-z]+")


def detect_kind(text: str) -> Kind:
    """The content kind of `text`, judged from its first few hundred lines.

    >>> detect_kind('{"items": []}'), detect_kind("src/app.py:12:    return 1\\nsrc/db.py:3:import os")
    (<Kind.JSON: 'json'>, <Kind.SEARCH: 'search'>)
    """
    start = text.lstrip()[:2]
    tail = text.rstrip()[-1:]
    if start[:1] in ("{", "[") and tail in ("}", "]") and _could_open_json(text.lstrip()):
        return Kind.JSON
    sample = _sample(text)
    lines = [line[:_SAMPLE_LINE_CHARS] for line in sample if line.strip()]
    if not lines:
        return Kind.TEXT
    n = len(lines)
    if _is_numbered_read(lines):
        # A file's lines, numbered: what matters is the file's content, and its lines are not rows.
        return Kind.CODE if _code_lines(lines) >= 0.25 * n else Kind.TEXT
    if _is_diff(lines):
        return Kind.DIFF
    grep = sum(1 for line in lines if _GREP.match(line) or _GREP_CONTEXT.match(line) or line == "--")
    # Compiler lines are counted only where they decide something: below 0.6 * n grep lines this
    # test fails whatever their count, and the log test below asks only when nothing else did.
    compiler = sum(1 for line in lines if _COMPILER.match(line)) if grep >= 0.6 * n else None
    if compiler is not None and grep - compiler >= 0.6 * n and compiler < 0.3 * grep:
        return Kind.SEARCH
    if _is_rg_heading(lines) or sum(1 for line in lines if _GREP_BARE.match(line)) >= 0.7 * n:
        return Kind.SEARCH
    drawn = sum(1 for line in lines if _TREE.match(line) or _LS_LONG.match(line))
    if drawn >= 0.7 * n:
        return Kind.LISTING
    # Only whether a share of lines is reached matters: stop counting there.
    is_logish = _reaches(lines, _is_log_line, 0.3 * n)
    if (not is_logish and _reaches(lines, _is_listing_line, 0.8 * n)) or _is_ls_recursive(sample):
        return Kind.LISTING
    if _is_headed_table(lines):
        return Kind.TABLE
    if is_logish or (compiler if compiler is not None else sum(1 for line in lines if _COMPILER.match(line))) >= 0.2 * n:
        return Kind.LOG
    if _is_table(lines):
        return Kind.TABLE
    if _is_markdown(lines):
        return Kind.PROSE
    if _code_lines(lines) >= 0.25 * n:
        return Kind.CODE
    if _is_prose(lines):
        return Kind.PROSE
    return Kind.TEXT


def _could_open_json(text: str) -> bool:
    """The character after an opening bracket could start a JSON value ("[![badge](..)" and
    "[link](..)" open Markdown, not JSON)."""
    second = text[1:].lstrip()[:1]
    if text[0] == "{":
        return second in ('"', "}")
    return second == "" or second in _JSON_VALUE_START


def _is_markdown(lines: list[str]) -> bool:
    """A Markdown document (a README, docs): several headings, links or HTML blocks, and prose
    between them once the markup lines are set aside."""
    if sum(1 for line in lines if _MD_MARKUP.match(line)) < 3:
        return False
    text_lines: list[str] = []
    is_fenced = False
    for line in lines:
        if line.lstrip().startswith("```"):
            is_fenced = not is_fenced
        elif not is_fenced and not _MD_MARKUP.match(line) and not line.startswith(("    ", "\t", ">>>", "$ ")):
            text_lines.append(_MD_INLINE.sub(" ", line))  # link targets and emphasis are not words
    return len(text_lines) >= 3 and _is_prose(text_lines)


# Agent harnesses put a few "Key: value" lines before a command's output (Codex's exec_command:
# "Chunk ID: ..", "Wall time: ..", "Process exited with code 0", "Original token count: ..",
# "Output:"). The header is kept verbatim and the output under it is routed on its own.
_ENVELOPE_SEPARATOR = "\nOutput:\n"
_ENVELOPE_LINE = re.compile(r"[A-Z][A-Za-z ]{1,30}: \S.{0,80}|Process exited with code -?[0-9]+")
_ENVELOPE_MAX_LINES = 8


def _split_envelope(text: str) -> tuple[str, str] | None:
    head, sep, body = text.partition(_ENVELOPE_SEPARATOR)
    if not sep or head.count("\n") >= _ENVELOPE_MAX_LINES:
        return None
    if not all(_ENVELOPE_LINE.fullmatch(line) for line in head.split("\n")):
        return None
    return head + sep, body


def route(text: str, ctx: Context) -> Compressed | None:
    """The best rewrite of `text` allowed by `ctx`, or None when nothing pays.

    Lossless only: the lossless pass. Otherwise the kind's lossy compressor too, and the result with
    fewer tokens wins, a lossless one unless the lossy one is at least 10% smaller.
    """
    if is_headroom_output(text):
        return None
    envelope = _split_envelope(text)
    if envelope is not None:
        head, body = envelope
        inner = route(body, ctx)
        return None if inner is None else dataclasses.replace(inner, text=head + inner.text)
    forms = lossless_forms(text)
    if ctx.lossless_only:
        return fewest_tokens(text, forms, ctx)
    kind = detect_kind(text)
    lossy = None
    if ctx.config.code_aware and (kind is Kind.CODE or source_languages(ctx.tool_args)):
        lossy = compress_code(text, ctx)  # None when it does not parse: the kind's compressor may still help
    if lossy is None:
        compressor = _LOSSY.get(kind)
        lossy = compressor(text, ctx) if compressor is not None else None
    if lossy is None or not lossy.text.strip():
        return fewest_tokens(text, forms, ctx)
    if not is_headroom_output(lossy.text):
        # Output with no headroom line would be rewritten by the next pass (idempotence): fold it now.
        folded = compact_lossless(lossy.text, ctx)
        if folded is not None:
            lossy = dataclasses.replace(lossy, text=folded.text, reason=f"{lossy.reason}; {folded.reason}")
    lossy_tokens = count_tokens(lossy.text, ctx.encoding)
    # A lossless form with `cap` tokens or more loses to the lossy result: it need not be counted whole.
    cap = max(0, int(lossy_tokens / LOSSLESS_PREFERENCE) - 2)
    while not lossy_tokens < LOSSLESS_PREFERENCE * cap:
        cap += 1
    lossless = fewest_tokens(text, forms, ctx, below=cap)
    if lossless is None:
        return lossy
    lossless_tokens = count_tokens(lossless.text, ctx.encoding)
    return lossy if lossy_tokens < LOSSLESS_PREFERENCE * lossless_tokens else lossless


def _sample(text: str) -> list[str]:
    # Split only as far as needed: a 1 MB log costs the same to classify as a 20 KB one.
    lines = text.split("\n", SAMPLE_LINES)
    return lines[:SAMPLE_LINES]


def _reaches(lines: list[str], test: Callable[[str], object], share: float) -> bool:
    """True when at least `share` lines pass `test`; stops as soon as that is decided."""
    hits = 0
    for line in lines:
        if test(line):
            hits += 1
            if hits >= share:
                return True
    return hits >= share


def _is_log_line(line: str) -> bool:
    return bool(
        (":" in line and _LOG_TIME.search(line))
        or (_LOG_LEVEL_HINT.search(line) and _LOG_LEVEL.search(line))
        or _LOG_SHAPE.match(line)
    )


def _code_lines(lines: list[str]) -> int:
    return sum(1 for line in lines if _CODE.match(_LINE_NUMBER.sub("", line, count=1)))


def _is_numbered_read(lines: list[str]) -> bool:
    """Most lines start with a line number and a tab or an arrow, as file readers print them.

    A TSV whose first column is a number looks alike. Readers right-align the numbers (cat -n, nl,
    an agent's Read tool) up to 99999; past that, code has tabs of its own that vary from line to
    line, and a consecutively numbered single column of text is a numbered file, not a table."""
    numbered = [match for match in map(_NUMBERED.match, lines) if match is not None]
    if len(numbered) < 0.8 * len(lines):
        return False
    if any(m.group(1) or m.group(3) == "→" for m in numbered):
        return True
    tabs = {line.count("\t") for line in lines}
    if len(tabs) > 1:
        return True
    numbers = [int(m.group(2)) for m in numbered]
    steps = sum(1 for a, b in itertools.pairwise(numbers) if b == a + 1)
    return tabs == {1} and steps >= 0.9 * (len(numbers) - 1)


def _is_ls_recursive(sample: list[str]) -> bool:
    """ls -R: blank-line separated sections, each headed by `dir:`, then one name per line."""
    sections = names = other = 0
    previous = ""
    for line in sample:
        stripped = line.strip()
        if not stripped:
            previous = stripped
            continue
        if not previous and line.endswith(":") and line.count(" ") <= 2 and _PATH_LINE.fullmatch(line[:-1]):
            sections += 1
        elif line == stripped and len(line) <= 200 and line.count(" ") <= 2 and _PATH_LINE.fullmatch(line):
            names += 1
        else:
            other += 1
        previous = stripped
    return sections >= 2 and other <= 0.1 * (sections + names + other)


def _is_diff(lines: list[str]) -> bool:
    hunks = sum(1 for line in lines if _HUNK.match(line))
    headers = sum(1 for line in lines if line.startswith(("diff --git ", "+++ ", "--- ")))
    if not hunks:
        return False
    changes = sum(1 for line in lines if line[:1] in "+- " and not line.startswith(("+++", "---")))
    return headers >= 1 or (hunks + changes) >= 0.5 * len(lines)


def _is_rg_heading(lines: list[str]) -> bool:
    """ripgrep's --heading form: a path line, then `12:match` lines, groups apart."""
    numbered = sum(1 for line in lines if _HEADING_MATCH.match(line))
    if numbered < 0.5 * len(lines):
        return False
    paths = sum(1 for line in lines if not _HEADING_MATCH.match(line) and _PATHISH.search(line) and " " not in line.strip())
    return numbered >= 0.5 * len(lines) and paths >= 1 and numbered + paths >= 0.9 * len(lines)


def _is_listing_line(line: str) -> bool:
    if _TREE.match(line) or _LS_LONG.match(line):
        return True
    stripped = line.strip()
    if len(stripped) > 200 or stripped.count(" ") > 2 or not _PATH_LINE.fullmatch(stripped):
        return False
    return _PATHISH.search(stripped) is not None or stripped.endswith(":")


def _is_table(lines: list[str]) -> bool:
    n = len(lines)
    if n < 3:
        return False
    if any(_MD_TABLE_RULE.match(line) for line in lines[:5]) and sum(1 for line in lines if line.lstrip().startswith("|")) >= 0.8 * n:
        return True
    for sep in ("\t", ","):
        counts = [line.count(sep) for line in lines]
        if counts[0] >= 1:
            same = sum(1 for c in counts if c == counts[0])
            # Prose has commas too: cells of a real table are short.
            if same >= 0.9 * n and not _is_prose(lines):
                return True
    # Aligned columns (pip list, ps, kubectl get): some column starts at the same offset on most lines.
    starts: dict[int, int] = {}
    for line in lines:
        for match in _ALIGNED_GAP.finditer(line):
            starts[match.end()] = starts.get(match.end(), 0) + 1
    return max(starts.values(), default=0) >= 0.8 * n


def _is_headed_table(lines: list[str]) -> bool:
    """Aligned columns under a header of names (ps, docker ps, kubectl get, df): the header has no
    digits, and on most lines words start or end where at least three of its names do. A timestamp in
    every row (ps START) does not make this a log."""
    header = lines[0]
    if len(lines) < 3 or any(c.isdigit() for c in header) or _LOG_LEVEL.search(header):
        return False
    spans = [(m.start(), m.end()) for m in _HEADER_NAME.finditer(header)]
    if len(spans) < 3:
        return False
    starts = {s for s, _ in spans}
    ends = {e for _, e in spans}
    need = min(3, len(spans))
    aligned = 0
    for line in lines[1:]:
        hits = sum(1 for m in _HEADER_NAME.finditer(line) if m.start() in starts or m.end() in ends)
        aligned += hits >= need
    return aligned >= 0.8 * (len(lines) - 1)


def _is_prose(lines: list[str]) -> bool:
    """Mostly words in sentences: letters and spaces dominate, lines hold several words, sentences end."""
    words = sum(len(_WORDS.findall(line)) for line in lines)
    if words < 60 or words < 5 * len(lines):
        return False
    stripped = [line.strip() for line in lines]
    chars = sum(len(line) for line in stripped) or 1
    if sum(_plain_chars(line) for line in stripped) < 0.85 * chars:
        return False
    return sum(len(_SENTENCE_END.findall(line)) for line in lines) >= 0.2 * len(lines)


def _plain_chars(line: str) -> int:
    """How many characters of `line` are letters or spaces."""
    if line.isascii():
        return len(line) - len(line.encode().translate(None, _ASCII_LETTERS_AND_SPACE))
    return sum(1 for c in line if c.isalpha() or c == " ")
