"""Every log record passes through :func:`services.rules.secrets.mask_secrets` before any
handler sees it: message, arguments and traceback text alike (a DATABASE_URL password or a
Stripe key in an exception message never reaches a log file)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from services.rules.secrets import mask_secrets

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Wrap the process's log record factory once (idempotent, safe from several threads)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                record.msg = mask_secrets(record.getMessage())
                record.args = None
                if record.exc_info and record.exc_info[0] is not None:
                    record.exc_text = mask_secrets(
                        logging.Formatter().formatException(record.exc_info)
                    )
                if record.stack_info:
                    record.stack_info = mask_secrets(record.stack_info)
            except Exception:  # a log line must never break the caller
                pass
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
