"""``python -m bulkport``: the same as the ``bulkport`` command."""

from bulkport.cli import main

main()
