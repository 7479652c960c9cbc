"""Answers and live rooms in SQL (SQLite or $DATABASE_URL)."""
