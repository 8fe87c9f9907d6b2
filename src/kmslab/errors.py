"""AWS KMS errors: one exception class per AWS error code.

Every failure the service raises is a :class:`KMSError` subclass named exactly
as the AWS error code (``NotFoundException``, ``DisabledException``...). Each
carries the AWS-style message and a botocore-shaped ``response`` dict, so
error-handling code written for boto3 (``err.response["Error"]["Code"]``)
runs unchanged. Front ends render the same object their own way: a Python
exception here, a botocore ``ClientError`` in the boto3 adapter, a JSON
``__type`` body over HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

__all__ = ["KMSError", "ERRORS", "error_class", "internal_error"]


class KMSError(ClientError):
    """Base of every kmslab error; ``code`` is the AWS error code.

    A subclass of botocore's ``ClientError``, so ``except ClientError`` and
    ``err.response["Error"]["Code"]`` work exactly as with boto3.
    """

    code = "KMSError"
    status = 400
    #: what kmslab can tell a learner beyond AWS's message: the authorization
    #: layer's decision on AccessDeniedException, the reason behind an error whose
    #: AWS message is empty (KMSInvalidSignatureException, InvalidCiphertextException...)
    explanation = None

    def __init__(self, message: str = "", operation_name: str | None = None, *,
                 explanation=None):
        Exception.__init__(self, message)
        self.message = message
        self.operation_name = operation_name  # type: ignore[assignment]  # None: no operation
        if explanation is not None:
            self.explanation = explanation
        self.response: dict = {  # type: ignore[assignment]  # boto3 fills more metadata
            "Error": {"Code": self.code, "Message": message},
            "ResponseMetadata": {"RequestId": "", "HTTPStatusCode": self.status},
        }

    @property
    def request_id(self) -> str:
        """The id of the request that failed (``x-amzn-RequestId``), as boto3 reports it."""
        return self.response["ResponseMetadata"]["RequestId"]

    def __str__(self) -> str:
        where = f" when calling the {self.operation_name} operation" if self.operation_name else ""
        return f"An error occurred ({self.code}){where}: {self.message}"

    def __reduce__(self):
        return (_rebuild, (self.code, self.message, self.operation_name))


def _rebuild(code, message, operation_name):
    return error_class(code)(message, operation_name)


def _error(name: str, doc: str, status: int = 400) -> type[KMSError]:
    return type(name, (KMSError,), {"code": name, "status": status, "__doc__": doc,
                                    "__module__": __name__})


# The model's 48 exception shapes, plus the generic AWS errors KMS returns
# (ValidationException, AccessDeniedException, ThrottlingException...).
# (name, first sentence of the model's documentation, HTTP status)
_TABLE: list[tuple] = [
    ("AlreadyExistsException", "A resource with that name already exists."),
    ("CloudHsmClusterInUseException", "The CloudHSM cluster is already associated with a key store."),
    ("CloudHsmClusterInvalidConfigurationException", "The CloudHSM cluster does not meet the requirements."),
    ("CloudHsmClusterNotActiveException", "The CloudHSM cluster is not active."),
    ("CloudHsmClusterNotFoundException", "KMS cannot find the CloudHSM cluster."),
    ("CloudHsmClusterNotRelatedException", "The cluster has a different cluster certificate than the original."),
    ("ConflictException", "An automatic rotation is in progress or scheduled within 20 minutes."),
    ("CustomKeyStoreHasCMKsException", "The custom key store contains KMS keys."),
    ("CustomKeyStoreInvalidStateException", "The ConnectionState of the custom key store is not valid."),
    ("CustomKeyStoreNameInUseException", "The custom key store name is already in use."),
    ("CustomKeyStoreNotFoundException", "KMS cannot find the custom key store."),
    ("DependencyTimeoutException", "The system timed out while trying to fulfill the request.", 503),
    ("DisabledException", "The KMS key is not enabled."),
    ("DryRunOperationException", "The request would have succeeded, but DryRun was set."),
    ("ExpiredImportTokenException", "The import token is expired."),
    ("IncorrectKeyException", "The KMS key cannot decrypt the data."),
    ("IncorrectKeyMaterialException", "The key material is expired, invalid, or not the expected material."),
    ("IncorrectTrustAnchorException", "The trust anchor certificate is not the cluster's."),
    ("InvalidAliasNameException", "The alias name is not valid."),
    ("InvalidArnException", "An ARN, in the request or in a key policy, is not valid."),
    ("InvalidCiphertextException",
     "The ciphertext, or its encryption context, is corrupted, missing, or otherwise invalid."),
    ("InvalidGrantIdException", "The GrantId is not valid."),
    ("InvalidGrantTokenException", "The grant token is not valid."),
    ("InvalidImportTokenException", "The import token is invalid or belongs to another KMS key."),
    ("InvalidKeyUsageException", "The key usage or algorithm is incompatible with the operation."),
    ("InvalidMarkerException", "The pagination marker is not valid."),
    ("KMSInternalException", "An internal exception occurred.", 500),
    ("KMSInvalidMacException", "The HMAC verification failed."),
    ("KMSInvalidSignatureException", "The signature verification failed."),
    ("KMSInvalidStateException", "The state of the resource is not valid for this request."),
    ("KeyUnavailableException", "The KMS key is not available.", 500),
    ("LimitExceededException", "A length constraint or quota was exceeded."),
    ("MalformedPolicyDocumentException", "The policy is not syntactically or semantically correct."),
    ("NotFoundException", "The entity or resource could not be found."),
    ("TagException", "One or more tags are not valid."),
    ("UnsupportedOperationException", "A parameter or resource is not supported for this operation."),
    ("XksKeyAlreadyInUseException", "The XksKeyId is already associated with another KMS key."),
    ("XksKeyInvalidConfigurationException", "The external key does not meet the requirements."),
    ("XksKeyNotFoundException", "The external key store proxy cannot find the external key."),
    ("XksProxyIncorrectAuthenticationCredentialException", "The proxy credentials failed to authenticate."),
    ("XksProxyInvalidConfigurationException", "The external key store proxy is not configured correctly."),
    ("XksProxyInvalidResponseException", "KMS cannot interpret the proxy's response."),
    ("XksProxyUriEndpointInUseException", "The XksProxyUriEndpoint is already in use in this Region."),
    ("XksProxyUriInUseException", "The proxy URI is already in use in this Region."),
    ("XksProxyUriUnreachableException", "KMS cannot reach the XksProxyUriPath."),
    ("XksProxyVpcEndpointServiceInUseException", "The VPC endpoint service is already in use."),
    ("XksProxyVpcEndpointServiceInvalidConfigurationException", "The VPC endpoint service is misconfigured."),
    ("XksProxyVpcEndpointServiceNotFoundException", "KMS cannot find the VPC endpoint service."),
    # generic AWS errors, not in the KMS model
    ("ValidationException", "A parameter failed to satisfy the operation's constraints."),
    ("AccessDeniedException", "The caller is not authorized to perform the action."),
    ("ThrottlingException", "The request rate exceeded a quota."),
    ("UnrecognizedClientException", "The security token in the request is invalid."),
    ("InvalidSignatureException", "The request signature does not match the computed one."),
    ("IncompleteSignature", "The request signature is incomplete or malformed."),
    ("MissingAuthenticationTokenException", "The request carries no authentication token."),
    ("UnknownOperationException", "The operation is not known to the service."),
    ("NotAuthorizedException", "The caller may not act on this resource (an alias/aws/ name)."),
    ("SerializationException", "The request body could not be parsed."),
    ("InvalidClientTokenId", "The access key id does not exist."),
    ("ExpiredTokenException", "The security token has expired."),
    # IAM and STS error codes (the lab's IAM and STS clients)
    ("NoSuchEntity", "The IAM entity (user, role, policy, access key) does not exist.", 404),
    ("EntityAlreadyExists", "An IAM entity with that name already exists.", 409),
    ("MalformedPolicyDocument", "The IAM policy document is not valid.", 400),
    ("AccessDenied", "The caller is not authorized to perform the IAM or STS action.", 403),
    ("DeleteConflict", "The IAM entity still has subordinate entities.", 409),
    ("LimitExceeded", "An IAM quota was exceeded.", 409),
    ("ValidationError", "A parameter failed to satisfy IAM's constraints.", 400),
]

ERRORS: dict[str, type[KMSError]] = {}
for _row in _TABLE:
    ERRORS[_row[0]] = globals()[_row[0]] = _error(*_row)
del _row

__all__ += list(ERRORS)

if TYPE_CHECKING:
    # The classes above are made from _TABLE; to a type checker each is a KMSError class.
    # (tests/test_errors_table.py checks that every name kmslab uses is in the table.)
    def __getattr__(name: str) -> type[KMSError]: ...


def error_class(code: str) -> type[KMSError]:
    """The exception class for an AWS error code (an unknown code gets a new class)."""
    try:
        return ERRORS[code]
    except KeyError:
        return ERRORS.setdefault(code, _error(code, f"AWS error {code}."))


#: KMSInternalException's text in AWS's API Reference
INTERNAL_MESSAGE = ("The request was rejected because an internal exception occurred. "
                    "The request can be retried.")


def internal_error(cause: BaseException, operation: str | None = None) -> KMSError:
    """The KMSInternalException a request gets when kmslab itself fails (a bug).

    The message is AWS's; ``explanation`` names what failed without repeating
    its text (which may quote the request); the failure is the exception's
    ``__cause__``.
    """
    where = f" serving {operation}" if operation else ""
    return ERRORS["KMSInternalException"](
        INTERNAL_MESSAGE, operation,
        explanation=f"kmslab failed with {type(cause).__name__}{where}: a bug in kmslab, not "
                    f"AWS behaviour. Please report it with the request id.")
