"""Keeping tokens out of text: log lines, error messages, status lines shown in a notebook.

Neutral ground for the server (which logs request lines) and the clients (which show the URL
they watch): importing it loads nothing else of the package.
"""

from __future__ import annotations

import logging
import re

__all__ = ["TokenRedactor", "redacted_logger", "without_token"]

_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s\"']*", re.IGNORECASE)
_BEARER_IN_TEXT = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)


def without_token(text: str) -> str:
    """``text`` with any ``token=…`` value and bearer credential replaced by ``***``."""
    folded = text.lower()
    if "token=" not in folded and "bearer" not in folded:  # most texts: no regex to run
        return text
    return _BEARER_IN_TEXT.sub(r"\1***", _TOKEN_IN_TEXT.sub(r"\1***", text))


class TokenRedactor(logging.Filter):
    """A logging filter that blanks tokens in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Format first, then redact: blanking the template could eat a placeholder.
        message = record.getMessage()
        if "token=" in message.lower() or "bearer" in message.lower():
            record.msg, record.args = without_token(message), ()
        return True


def redacted_logger(name: str) -> logging.Logger:
    """The logger ``name``, with a :class:`TokenRedactor` attached once.

    Given to websockets, whose debug log prints request lines (and so ``?token=…``).
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, TokenRedactor) for f in logger.filters):
        logger.addFilter(TokenRedactor())
    return logger
