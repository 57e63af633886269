"""text-stats/analyze: counts and word frequencies of a text.

Input (JSON on stdin): {"text": str, "top": int}.
Output (JSON on stdout): characters, words, lines, sentences, unique_words, average_word_length,
top_words, reading_time_seconds; on an error, {"error": str} on stderr and exit 1.
"""

from __future__ import annotations

import heapq
import json
import re
import sys
from collections import Counter
from typing import Any

WORDS_PER_MINUTE = 238  # average silent reading speed of adults (Brysbaert, 2019)
MAX_TEXT = 1_000_000
MAX_TOP = 100
DEFAULT_TOP = 10

# A word is a run of letters or digits, joined across an apostrophe (' or U+2019) or a hyphen
# ("don't", "nsjail-based") and across a point or comma between digits ("3.14", "1,000").
_WORD = re.compile(r"[^\W_]+(?:(?:['\u2019-]|(?<=\d)[.,](?=\d))[^\W_]+)*")
# A sentence ends at a run of . ! ? or … followed by whitespace or the end of the text, so "3.14"
# and "e.g.," do not end one.
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class InputError(Exception):
    """Input the schema let through but the tool cannot use."""


def analyze(text: str, top: int) -> dict[str, Any]:
    # One pass without a list of all words: a million characters of distinct short words would
    # otherwise hold every word twice and come close to the memory limit.
    counts: Counter[str] = Counter()
    word_chars = 0
    for match in _WORD.finditer(text):
        word = match.group()
        word_chars += len(word)
        counts[word.casefold().replace("\u2019", "'")] += 1
    words = counts.total()
    ranked = heapq.nsmallest(top, counts.items(), key=lambda item: (-item[1], item[0]))
    return {
        "characters": len(text),
        "words": words,
        "lines": _lines(text),
        "sentences": sum(1 for part in _SENTENCE_END.split(text) if _WORD.search(part)),
        "unique_words": len(counts),
        "average_word_length": round(word_chars / words, 2) if words else 0.0,
        "top_words": [{"word": word, "count": count} for word, count in ranked],
        "reading_time_seconds": round(words * 60 / WORDS_PER_MINUTE, 1),
    }


def _lines(text: str) -> int:
    """Lines as an editor shows them: a final line without a line break still counts."""
    breaks = len(_LINE_BREAK.findall(text))
    return breaks + (1 if text and not text.endswith(("\n", "\r")) else 0)


def _parse_request(request: Any) -> tuple[str, int]:
    if not isinstance(request, dict):
        raise InputError("input must be a JSON object")
    text = request.get("text")
    if not isinstance(text, str):
        raise InputError("input.text must be a string")
    if len(text) > MAX_TEXT:
        raise InputError(f"input.text is longer than {MAX_TEXT} characters")
    top = request.get("top", DEFAULT_TOP)
    if type(top) is not int or not 1 <= top <= MAX_TOP:
        raise InputError(f"input.top must be an integer from 1 to {MAX_TOP}")
    return text, top


def main() -> int:
    try:
        request = json.loads(sys.stdin.buffer.read())
    except ValueError as exc:
        return _fail(f"input is not valid JSON: {exc}")
    except RecursionError:
        return _fail("input is nested too deeply")
    try:
        result = analyze(*_parse_request(request))
    except InputError as exc:
        return _fail(str(exc))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(json.dumps({"error": message}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
