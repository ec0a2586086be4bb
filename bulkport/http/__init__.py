"""What the API and the pages share as HTTP: the request's context and caller, the outer guard,
the access log, streamed uploads, rate limits, and the HTTP answer of each bulkport error."""
