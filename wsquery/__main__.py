"""python -m wsquery: the wsquery command."""

from .cli import main

raise SystemExit(main())
