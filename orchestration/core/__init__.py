"""Foundations every stage uses: settings, errors, SQL quoting, countries, the PostgreSQL target."""
