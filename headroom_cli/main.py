"""The `headroom` command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from headroom_core import __version__

from .compress_cmd import compress_cmd
from .proxy_cmd import proxy_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="headroom")
def cli() -> None:
    """Headroom: make every LLM request smaller without changing what the model can know."""


cli.add_command(proxy_cmd)
cli.add_command(compress_cmd)


def main() -> None:
    cli()
