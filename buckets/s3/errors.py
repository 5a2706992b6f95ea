"""The one error type of the S3 layer: what went wrong, in S3's code and in words for the page."""

from __future__ import annotations

from dataclasses import dataclass

# Error codes that mean "the server does not implement this setting".
NOT_SUPPORTED_CODES = frozenset(
    {"NotImplemented", "NotSupported", "UnsupportedOperation", "XNotImplemented", "MethodNotAllowed"}
)
TIMEOUT_CODE = "EndpointTimeout"
CONSOLE_CODES = frozenset({"NotEditable"})  # refusals of the console's own: their message is the whole text
# Added to the message of a write that timed out after it was sent.
SENT_WRITE = (
    " The change was sent and may still be made when the endpoint answers: reload in a moment to see what it holds."
)


@dataclass
class S3Error(Exception):
    code: str
    message: str = ""
    request_id: str = ""
    status: int | None = None
    sent: bool = False  # timed out after the request went out: a write may still be made

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    @property
    def not_supported(self) -> bool:
        return self.code in NOT_SUPPORTED_CODES or self.status == 501

    @property
    def timed_out(self) -> bool:
        return self.code == TIMEOUT_CODE

    @property
    def user_message(self) -> str:
        """A sentence for the page: what went wrong, in words, with the S3 code."""
        if self.timed_out or self.code in CONSOLE_CODES:
            return self.message
        hint = FRIENDLY.get(self.code)
        text = hint or self.message or "The S3 server refused the request."
        return f"{text} ({self.code})" if self.code not in text else text


FRIENDLY = {
    "AccessDenied": "The endpoint's credentials are not allowed to do this.",
    "InvalidAccessKeyId": "The access key id is not known to the S3 server.",
    "SignatureDoesNotMatch": "The secret access key is wrong: the server rejected the request signature.",
    "EndpointUnreachable": "The S3 endpoint cannot be reached.",
    "NoCredentials": "No credentials were found for this endpoint.",
    "ProfileNotFound": "The named AWS profile does not exist on this server.",
    "SlowDown": "The S3 server asks to slow down (too many requests); try again in a moment.",
    "NoSuchBucket": "The bucket does not exist (any more).",
    "BucketAlreadyExists": "That bucket name is taken by someone else; bucket names are global.",
    "BucketAlreadyOwnedByYou": "You already own a bucket with that name.",
    "BucketNotEmpty": "The bucket is not empty.",
    "InvalidBucketName": "The S3 server rejected the bucket name.",
    "PreconditionFailed": "The object changed since you opened it.",
    "ExpiredToken": "The endpoint's temporary credentials have expired.",
}
