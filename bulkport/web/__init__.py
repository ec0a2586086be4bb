"""Back-office pages: server-rendered templates, a session cookie and a little vendored script."""
