"""A Dagster logger for the terminal: one line per step and per failed check, the full log to a file."""

from __future__ import annotations

import logging
import sys

import dagster as dg

_STEP_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "RUN_FAILURE"}


def _event(record: logging.LogRecord):
    meta = getattr(record, "dagster_meta", None) or {}
    return meta.get("dagster_event")


class ConciseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = _event(record)
        kind = event.event_type_value if event else None
        step = (event.step_key if event else None) or ""
        if kind == "STEP_START":
            return f"  ... {step}"
        if kind == "STEP_SUCCESS":
            seconds = event.event_specific_data.duration_ms / 1000 if event.event_specific_data else 0
            return f"  ok  {step} ({seconds:.1f} s)"
        if kind == "STEP_UP_FOR_RETRY":
            return f"  retry {step}"
        if kind == "STEP_FAILURE":
            error = event.event_specific_data.error if event.event_specific_data else None
            message = _failure_message(error) if error else record.getMessage()
            return f"  FAILED {step}: {message}"
        if kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            label = "WARN" if data.severity.value == "WARN" else "FAILED"
            return f"  {label} check {data.check_name} on {data.asset_key.to_user_string()}"
        return record.getMessage()


def _failure_message(error) -> str:
    # the user's error is the deepest cause (Dagster wraps it in framework errors)
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name


class ConciseFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        event = _event(record)
        if event is None:
            return False
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            return not event.event_specific_data.passed
        return event.event_type_value in _STEP_EVENTS


@dg.logger(
    config_schema={"log_file": dg.Field(str, description="File that receives the full debug log")},
    description="One line per step on stdout; the full event log in a file.",
)
def concise_progress_logger(init_context) -> logging.Logger:
    logger = logging.Logger("kpi_warehouse", level=logging.DEBUG)
    console = logging.StreamHandler(sys.__stdout__)
    console.addFilter(ConciseFilter())
    console.setFormatter(ConciseFormatter())
    logger.addHandler(console)
    full = logging.FileHandler(init_context.logger_config["log_file"], encoding="utf-8")
    full.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(full)
    return logger
