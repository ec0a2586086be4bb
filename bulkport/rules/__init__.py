"""The customer data's rules: the field catalogue and header spellings, how a spreadsheet row
becomes a customer (dates, countries, apostrophes, text), and the words a customer is found by."""
