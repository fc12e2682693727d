"""The ``curate`` command-line interface (one module per group of verbs)."""
