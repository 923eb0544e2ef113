"""Serve the example practice software: `python -m examples.practice_software` from the repository root.

Configured by environment variables; see README.md beside this file.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import uvicorn

from examples.practice_software.app import Config, create_app


def main() -> None:
    config = Config.from_env()
    port = urlsplit(config.base_url).port or 8100
    uvicorn.run(create_app(config), host=os.environ.get("PRACTICE_HOST", "127.0.0.1"), port=port)


if __name__ == "__main__":
    main()
