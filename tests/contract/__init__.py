"""The CLI contract: every verb refuses every class of bad input in one line, changing nothing."""
