"""The S3 layer: the only package that imports boto3/botocore.

Functions are keyword-only, named by verb, take an ``Endpoint`` and return plain Python values.
Expected absences (no policy, no tags, no such key) come back as ``None``/empty; everything else
raises :class:`S3Error`. Callers use the names below (``from buckets import s3``; ``s3.head_object``).

- ``client``: clients per endpoint, and the call (with its audit guard);
- ``errors``: the one error type, ``S3Error``; ``budget``: the time budget of a page or a job;
- ``listing``: one page per call of buckets, objects, versions and incomplete uploads;
- ``objects``: reading, writing, copying, multipart parts, presigned links, deleting;
- ``buckets``: creating and deleting buckets, a getter and a setter per bucket setting.
"""

from buckets.s3.buckets import (
    PUBLIC_ACCESS_BLOCK_FLAGS,
    create_bucket,
    delete_bucket,
    delete_bucket_cors,
    delete_bucket_encryption,
    delete_bucket_ownership,
    delete_bucket_policy,
    delete_bucket_website,
    delete_public_access_block,
    get_bucket_acl,
    get_bucket_cors,
    get_bucket_encryption,
    get_bucket_lifecycle,
    get_bucket_location,
    get_bucket_notification,
    get_bucket_ownership,
    get_bucket_policy,
    get_bucket_replication,
    get_bucket_tags,
    get_bucket_versioning,
    get_bucket_website,
    get_object_lock,
    get_public_access_block,
    head_bucket,
    list_inventory_configurations,
    put_bucket_acl,
    put_bucket_cors,
    put_bucket_encryption,
    put_bucket_lifecycle,
    put_bucket_ownership,
    put_bucket_policy,
    put_bucket_tags,
    put_bucket_versioning,
    put_bucket_website,
    put_inventory_configuration,
    put_object_lock,
    put_public_access_block,
)
from buckets.s3.client import (
    CALL_COUNTS,
    S3Error,
    UnauditedWrite,
    audited_scope,
    available_profiles,
    client_for,
    configure_sessions,
    credentials_lifetime,
    endpoint_key,
    forget_client,
    is_write,
    last_request_id,
    on_new_client,
    server_software,
    shared_reads,
    time_budget,
)
from buckets.s3.listing import (
    PAGE_SIZE,
    check_connection,
    iter_object_pages,
    iter_upload_pages,
    iter_version_pages,
    list_buckets,
    list_objects_page,
    list_uploads_page,
    list_versions_page,
    upload_bytes,
)
from buckets.s3.objects import (
    ABSENT_OBJECT_CODES,
    CONTENT_HEADERS,
    UPLOAD_URL_SECONDS,
    abort_multipart_upload,
    complete_multipart_upload,
    copy_object,
    create_multipart_upload,
    delete_object,
    delete_objects,
    get_object_acl,
    get_object_tags,
    head_object,
    open_object,
    presign_put_object,
    presign_upload_part,
    presigned_get_url,
    put_object,
    put_object_acl,
    put_object_tags,
    read_object_start,
    restore_object,
    upload_part,
    upload_part_copy,
    write_options,
)

# The functions that change S3: only services call them, inside audit.change (tests walk the code for this).
WRITES = frozenset(
    {
        "abort_multipart_upload",
        "complete_multipart_upload",
        "copy_object",
        "create_bucket",
        "create_multipart_upload",
        "delete_bucket",
        "delete_bucket_cors",
        "delete_bucket_encryption",
        "delete_bucket_ownership",
        "delete_bucket_policy",
        "delete_bucket_website",
        "delete_object",
        "delete_objects",
        "delete_public_access_block",
        "put_bucket_acl",
        "put_bucket_cors",
        "put_bucket_encryption",
        "put_bucket_lifecycle",
        "put_bucket_ownership",
        "put_bucket_policy",
        "put_bucket_tags",
        "put_bucket_versioning",
        "put_bucket_website",
        "put_inventory_configuration",
        "put_object",
        "put_object_acl",
        "put_object_lock",
        "put_object_tags",
        "put_public_access_block",
        "restore_object",
        "upload_part",
        "upload_part_copy",
    }
)

__all__ = sorted(name for name in globals() if not name.startswith("_"))
