"""The buckets app's views, one module per area (see buckets/urls/ for the URL of each)."""
