"""JSON request bodies: DRF's parser, plus refusals that would otherwise surface as 500s."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from governance import json_safety

# A \uD800-\uDFFF escape: only then can the parsed body hold a lone surrogate (raw UTF-8 cannot encode one).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class JSONParser(parsers.JSONParser):
    """Documents nested deeper than JSON_MAX_DEPTH or holding NUL (governance.json_safety), and strings with lone
    surrogates (no UTF-8 column or answer can hold them, RFC 7493 §2.1), are parse errors: 400 with problem
    details instead of a RecursionError, a UnicodeEncodeError or a database error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the document is nested more than {json_safety.max_depth()} "
                             "levels deep.") from None
        problem = json_safety.json_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}.")
        if _SURROGATE_ESCAPE.search(raw):
            try:
                json.dumps(data, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff), "
                                 "which is not Unicode text.") from None
        return data
