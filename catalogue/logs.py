"""How a serving process logs: lines for a person (`text`) or one JSON object a line for a log
collector (`json`), each with the time, level, logger and message, and the fields a record
carries (the access log's method, route, status and seconds)."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

# What every LogRecord has; anything else on a record was given as `extra` and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def config(fmt: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the whole process (uvicorn takes it as `log_config`):
    one handler on standard error; uvicorn's own access log is off, since the site logs each
    request itself with its route and time (logger `catalogue.access`, at info)."""
    formatter = {"()": JsonFormatter} if fmt == "json" else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {"uvicorn": {"handlers": [], "propagate": True},
                    "uvicorn.error": {"handlers": [], "propagate": True},
                    "uvicorn.access": {"handlers": [], "propagate": False}},
    }
