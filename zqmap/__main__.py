"""``python -m zqmap`` runs the command line."""

from zqmap.cli import main

raise SystemExit(main())
