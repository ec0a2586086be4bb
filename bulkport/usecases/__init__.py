"""What people and programs do with bulkport, one function a use case.

The API (``bulkport.api``), the pages (``bulkport.web``) and the command (``bulkport.cli``)
translate a request, a form or arguments into one call here and its result back; none of
them opens a transaction or imports another. Each use case is handed the process's
``Context`` (settings, file store, the queue) and the caller, opens its own transactions
through ``ctx.uow``, and says no with a ``bulkport.errors`` exception, which each entry point
answers in one place (``bulkport.http.errors``, ``bulkport.cli.one_line``). Jobs are created
and run by their kind's module in ``bulkport.tasks``; the use cases here call those.
"""
