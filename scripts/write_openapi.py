"""Write the OpenAPI document the code serves to a file: `python -m scripts.write_openapi openapi.yaml`."""

from __future__ import annotations

import sys
from pathlib import Path

from service.api.ops import spec_yaml
from service.app import create_app


def main(path: str) -> None:
    app = create_app()
    with app.app_context():
        Path(path).write_text(spec_yaml(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml")
