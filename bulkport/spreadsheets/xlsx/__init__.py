"""Excel workbooks (.xlsx): read as a stream of rows on expat, and written as text cells."""
