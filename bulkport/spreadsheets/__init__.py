"""Reading and writing spreadsheet files: CSV dialects, headers, mapping, safe cells."""
