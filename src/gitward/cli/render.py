"""`gitward render`: the objects a directory of manifests declares, as gitward would apply them."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml

from gitward.cli.output import err, fail
from gitward.model import DirectorySource
from gitward.render import ValidationFailed, render_directory


class ManifestFormat(enum.StrEnum):
    yaml = "yaml"
    json = "json"


def render(
    root: Annotated[Path, typer.Argument(help="A local checkout: the repository's top folder.")],
    path: Annotated[str, typer.Option("--path", help="The app's folder inside the repository.")] = "",
    recurse: Annotated[bool, typer.Option("--recurse", help="Include sub-folders.")] = False,
    include: Annotated[str, typer.Option(help="Only files matching this glob ({a,b} allowed).")] = "",
    exclude: Annotated[str, typer.Option(help="Skip files matching this glob; wins over --include.")] = "",
    output: Annotated[
        ManifestFormat, typer.Option("--output", "-o", help="yaml or json.")
    ] = ManifestFormat.yaml,
) -> None:
    """Print the rendered objects; on validation errors print each as file:line:col: message and exit 2."""
    if not root.is_dir():
        fail(f"{root} is not a folder")
    spec = DirectorySource(recurse=recurse, include=include, exclude=exclude)
    try:
        objects = render_directory(root, path, spec)
    except ValidationFailed as failure:
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    if output is ManifestFormat.json:
        sys.stdout.write(json.dumps(objects, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=False))
