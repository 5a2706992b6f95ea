"""Services: every change to S3 or to the console's records, each a keyword-only function run inside
one audited change (``console.audit.change``). Views and tasks call these; nothing else writes to S3.

Reading helpers that several services and views share live in ``reads``.
"""
