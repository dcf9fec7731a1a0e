"""Helpers shared by the command modules: loading the project, printing errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from uprbuzz.config import Config, load_config


def project_config(ctx: click.Context | None = None) -> Config:
    """The project's Config; a ConfigError (a clean line and exit 2 from the CLI) if it has
    any problem."""
    ctx = ctx or click.get_current_context()
    root = (ctx.find_root().obj or {}).get("project")
    return load_config(Path(root) if root else None)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def err(msg: str) -> None:
    click.echo(msg, err=True)


def is_tty() -> bool:
    return sys.stderr.isatty()
