"""``python -m flowview_async.cli``: the same as the ``flowview`` command."""

from flowview_async.cli import main

main()
