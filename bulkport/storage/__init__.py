"""Tables, repositories, migrations and the file store."""
