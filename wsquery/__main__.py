"""python -m wsquery: the wsquery command."""

from wsquery.apps.cli import main

raise SystemExit(main())
