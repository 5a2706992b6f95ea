"""The catalog's services: the index (crawl, inventory, freshness), search and storage analytics."""
