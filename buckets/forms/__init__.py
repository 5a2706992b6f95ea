"""Forms: they validate and normalise what users type (keys, prefixes, confirmations); views apply."""
