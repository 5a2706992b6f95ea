"""Forms: they validate and normalise, so a bad value never reaches S3; views apply them through services.

- ``sections``: the inline sections of the bucket page and the object page (one base, one rows helper);
- ``buckets``: creating a bucket;
- ``transfer``: copy, move, rename, delete of objects and folders;
- ``upload``: what the browser sends when it starts an upload.
"""
