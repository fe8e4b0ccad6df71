"""One JSON decoder for every untrusted text: data files, HTTP bodies and model replies.

``json.loads`` raises more than ``JSONDecodeError``: a number longer than Python's int-digit limit
raises ``ValueError``, nesting deeper than the interpreter stack raises ``RecursionError``, and bytes
that are not UTF-8 raise ``UnicodeDecodeError``. Every caller that caught only ``JSONDecodeError`` let
those escape as crashes, so all callers go through :func:`loads_json`, which turns each of them into
the one documented :class:`JsonTextError`.
"""

from __future__ import annotations

import json
import re
from typing import Any


class JsonTextError(ValueError):
    """Text (or bytes) that cannot be decoded as JSON. The message says why and where; ``reason`` says
    only why, with no position, so callers that count failures by kind can group on it."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def loads_json(data: str | bytes) -> Any:
    """Decode JSON text (bytes are decoded as UTF-8 first); :class:`JsonTextError` for anything unreadable."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonTextError(f"not UTF-8 text (byte {error.start})", "not UTF-8 text") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise JsonTextError(f"invalid JSON: {error.msg} at column {error.colno}", error.msg) from None
    except (ValueError, RecursionError) as error:  # int over the digit limit, nesting too deep
        kind = type(error).__name__
        raise JsonTextError(f"invalid JSON: {kind}: {str(error)[:80]}", kind) from None


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def loads_json_reply(text: str) -> Any:
    """Decode the JSON a language model was asked to reply with; models often wrap it in a Markdown
    code fence, which is removed first. :class:`JsonTextError` when the reply is not JSON."""
    fenced = _FENCE.match(text)
    return loads_json(fenced.group(1) if fenced else text.strip())
