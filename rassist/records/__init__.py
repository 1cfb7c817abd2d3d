"""Session records (tickets): append-only, hash-chained, searchable, exportable.

model (entries, what events become), writer (the worker thread), recorder (the session hook),
store / sqlite_store / pg_store (where they live), ocr (screen text), verify and export."""
