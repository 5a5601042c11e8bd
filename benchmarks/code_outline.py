"""Code outline benchmark: per language, savings and parse+outline speed on real source files.

    python -m benchmarks.code_outline [--per-language N]

Reads source trees installed on this machine (the standard library, site-packages, node_modules,
the JDK's src.zip, rustdoc's rendered std sources, /usr/share and /usr/lib) plus the hand-written
samples in tests/cases/code for languages with no file installed here. Prints one row per
language: files read, files outlined (the rest did not parse cleanly or had too little to elide),
o200k tokens in and out over the outlined files, savings, and MB/s of compress_code over every
file read (parse, query and render).
"""

from __future__ import annotations

import argparse
import glob
import html
import json
import os
import re
import sysconfig
import time
import zipfile
from pathlib import Path
from typing import Iterator

from headroom_core.compressors import Context
from headroom_core.compressors.code import compress_code
from headroom_core.config import Config
from headroom_core.tokens import count_tokens

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "cases" / "code"
HOME = Path.home()
MAX_FILE_BYTES = 1_000_000

EXTENSIONS = {
    "python": (".py",), "javascript": (".js", ".mjs", ".cjs"), "typescript": (".ts", ".mts", ".cts"),
    "tsx": (".tsx",), "go": (".go",), "rust": (".rs",), "java": (".java",), "c": (".c",),
    "cpp": (".cpp", ".cc", ".hpp", ".cxx", ".h"), "csharp": (".cs",), "ruby": (".rb",), "php": (".php",),
    "kotlin": (".kt", ".kts"), "bash": (".sh", ".bash"),
}
ROOTS = {
    "python": [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]],
    "javascript": ["/usr/lib/node_modules", str(ROOT / ".tools"), "/usr/share/nodejs"],
    "typescript": ["/usr/lib/node_modules", str(ROOT / ".tools")],
    "tsx": [],
    "go": ["/usr/share/doc", "/usr/lib/go/src", str(HOME / "go" / "pkg" / "mod")],
    "rust": [str(HOME / ".cargo" / "registry" / "src")],
    "java": [],
    "c": ["/usr/share/doc", sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]],
    "cpp": ["/usr/share", "/usr/lib/node_modules", sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"],
            *glob.glob("/usr/include/c++/*/bits"), *glob.glob("/usr/local/cuda*/include")],
    "csharp": ["/usr/lib/node_modules"],
    "ruby": ["/usr/lib/ruby"],
    "php": ["/usr/lib/google-cloud-sdk", "/usr/share/php"],
    "kotlin": [],
    "bash": ["/usr/lib/perf-core", "/usr/share/doc", "/usr/lib/google-cloud-sdk"],
}


def _walk(roots: list[str], suffixes: tuple[str, ...]) -> list[str]:
    found: set[str] = set()
    for root in roots:
        for directory, _, names in os.walk(root):
            for name in names:
                if name.endswith(suffixes) and not name.endswith((".min.js", ".d.ts", ".d.mts", ".d.cts")):
                    found.add(os.path.join(directory, name))
    return sorted(found)


def _rustdoc_sources(limit: int) -> Iterator[tuple[str, str]]:
    """rustdoc renders std's sources as HTML pages; the code block, with tags removed, is the file."""
    pages = sorted(glob.glob(str(HOME / ".rustup/toolchains/stable-*/share/doc/rust/html/src/**/*.rs.html"), recursive=True))
    for page in _spread(pages, limit):
        block = re.search(r'<pre class="rust"><code>(.*?)</code></pre>', Path(page).read_text("utf-8"), re.S)
        if block:
            text = re.sub(r"<a href=#\d+ id=\d+ data-nosnippet>\d+</a>", "", block.group(1))
            yield page.removesuffix(".html"), html.unescape(re.sub(r"<[^>]+>", "", text))


def _jdk_sources(limit: int) -> Iterator[tuple[str, str]]:
    for archive in [p for p in sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip")) if os.path.isfile(p)][:1]:
        with zipfile.ZipFile(archive) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".java") and n.startswith("java.base/"))
            for name in _spread(names, limit):
                yield f"{archive}!{name}", zf.read(name).decode("utf-8", "replace")


def _spread(items: list[str], limit: int) -> list[str]:
    """Up to `limit` items spread evenly over the sorted list (deterministic)."""
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def corpus(language: str, limit: int) -> Iterator[tuple[str, str]]:
    """(path, text) of up to `limit` real files of `language`, then the samples for it."""
    if language == "rust":
        yield from _rustdoc_sources(limit)
    if language == "java":
        yield from _jdk_sources(limit)
    paths = [p for p in _walk(ROOTS[language], EXTENSIONS[language]) if os.path.getsize(p) <= MAX_FILE_BYTES]
    if language == "cpp":  # .h is C++ only where it sits in a C++ tree
        paths = [p for p in paths if not p.endswith(".h") or "/c++/" in p or "/cuda" in p]
    for path in _spread(paths, limit):
        yield path, Path(path).read_text("utf-8", "replace")
    for path in sorted(SAMPLES.glob("*")):
        if path.suffix in EXTENSIONS[language]:
            yield str(path), path.read_text("utf-8")


def measure(language: str, limit: int) -> dict[str, float]:
    config = Config()
    files = outlined = tokens_in = tokens_out = 0
    size = 0
    seconds = 0.0
    for path, text in corpus(language, limit):
        ctx = Context(config, tool_args=json.dumps({"file_path": path.split("!")[-1]}))
        files += 1
        size += len(text.encode("utf-8", "surrogatepass"))
        start = time.perf_counter()
        result = compress_code(text, ctx)
        seconds += time.perf_counter() - start
        if result is not None:
            outlined += 1
            tokens_in += count_tokens(text)
            tokens_out += count_tokens(result.text)
    return {
        "files": files, "outlined": outlined, "tokens_in": tokens_in, "tokens_out": tokens_out,
        "savings": 100.0 * (1 - tokens_out / tokens_in) if tokens_in else 0.0,
        "mb_per_s": size / 1e6 / seconds if seconds else 0.0, "mb": size / 1e6,
    }


def _warm_up() -> None:
    """Load every grammar and compile every query once, so the MB/s column measures steady state."""
    for suffixes in EXTENSIONS.values():
        compress_code("\n" * 50, Context(Config(), tool_args=json.dumps({"file_path": "warm" + suffixes[0]})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-language", type=int, default=200, help="files read per language (default 200)")
    args = parser.parse_args()
    _warm_up()
    print(f"{'language':<11} {'files':>6} {'outlined':>8} {'MB':>6} {'tokens in':>10} {'tokens out':>10} {'savings':>8} {'MB/s':>6}")
    total_in = total_out = 0
    for language in EXTENSIONS:
        row = measure(language, args.per_language)
        total_in += int(row["tokens_in"])
        total_out += int(row["tokens_out"])
        print(
            f"{language:<11} {row['files']:>6} {row['outlined']:>8} {row['mb']:>6.2f} {row['tokens_in']:>10,} "
            f"{row['tokens_out']:>10,} {row['savings']:>7.1f}% {row['mb_per_s']:>6.2f}"
        )
    if total_in:
        print(f"{'all':<11} {'':>6} {'':>8} {'':>6} {total_in:>10,} {total_out:>10,} {100 * (1 - total_out / total_in):>7.1f}%")


if __name__ == "__main__":
    main()
