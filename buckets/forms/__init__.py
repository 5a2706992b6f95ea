"""Forms: they validate and normalise, so a bad value never reaches S3; views apply them through services.

- ``base``: what every section form shares (the state it was opened on, editable rows);
- ``sections``: the object page's sections and those both pages have (tags, ACLs);
- ``settings``: the bucket page's sections (CORS, lifecycle and policy helpers with them);
- ``buckets``: creating a bucket;
- ``transfer``, ``empty``: copy, move, rename and delete of objects and folders; emptying a bucket;
- ``upload``: what the browser sends when it starts an upload.
"""
