"""``python -m kmslab demo``."""

from .cli import main

raise SystemExit(main())
