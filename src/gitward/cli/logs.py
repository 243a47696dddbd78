"""The log of the long-running commands (`gitward controller`, `gitward server`): format, level, redaction.

structlog is configured here and nowhere else. gitward's own records and those
of the libraries it runs on (uvicorn, httpx, asyncio: the standard `logging`
module) go through one chain, so in json every line of the output is one JSON
object, and every string in a record passes `redact_text` before it is written.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
from typing import Annotated, Any, TextIO

import structlog
import typer
from structlog.typing import EventDict, Processor, WrappedLogger

from gitward.model.redact import redact_text


class LogFormat(enum.StrEnum):
    console = "console"
    json = "json"


class LogLevel(enum.StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        envvar="GITWARD_LOG_FORMAT",
        case_sensitive=False,
        help="console: a line of key=value fields for a person; json: one JSON object per line "
        "(timestamp, level, event and the fields) for a log collector. Console by default wherever it "
        "runs, so that redirecting the output does not change it; the manifests `gitward install` "
        "writes choose json.",
    ),
]
LogLevelOption = Annotated[
    LogLevel,
    typer.Option(
        envvar="GITWARD_LOG_LEVEL",
        case_sensitive=False,
        help="The least severe records written. Other libraries' records are written from warning up.",
    ),
]


def configure_logging(fmt: LogFormat, level: LogLevel, stream: TextIO | None = None) -> None:
    """Send every log record, gitward's and the libraries', to `stream` (stdout) in `fmt` from `level` up."""
    out = stream or sys.stdout
    threshold = logging.getLevelNamesMapping()[level.value.upper()]
    if fmt is LogFormat.json:
        stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
        renderer: Processor = structlog.processors.JSONRenderer()
    else:
        stamp = structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False)
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty() and "NO_COLOR" not in os.environ, pad_level=False
        )
    # Tracebacks become plain text here (never a rich traceback, which would print local variables),
    # so that the redaction below sees them too.
    chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        stamp,
        structlog.processors.format_exc_info,
        _redact,
    ]
    structlog.configure(
        processors=[*chain, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *chain],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    # A library at info or debug writes a line per HTTP request, with its URL: not for a Pod's log.
    root.setLevel(library_level(level).value.upper())


def library_level(level: LogLevel) -> LogLevel:
    """The least severe level the libraries' records are written at, for gitward's `level`."""
    return LogLevel.error if level is LogLevel.error else LogLevel.warning


def _redact(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Every string of the record with the secrets of its URLs masked: see gitward.model.redact."""
    # `_record` and the like are ProcessorFormatter's own, removed before rendering.
    return {name: value if name.startswith("_") else _redacted(value) for name, value in event.items()}


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _redacted(v) for k, v in value.items()}
    # What the renderers would write for any other object, redacted first.
    return redact_text(repr(value))
