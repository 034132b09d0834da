namespace Pipeline;

/// <summary>The error codes of the public contract (API.md): <c>extensions.code</c> and <c>Import.error.code</c>.</summary>
public static class ErrorCodes
{
    public const string BadInput = "BAD_INPUT";
    public const string Forbidden = "FORBIDDEN";
    public const string NotFound = "NOT_FOUND";
    public const string RegistryUnreachable = "REGISTRY_UNREACHABLE";
    public const string RegistryAuthFailed = "REGISTRY_AUTH_FAILED";
    public const string ImageNotFound = "IMAGE_NOT_FOUND";
    public const string ArchMismatch = "ARCH_MISMATCH";
    public const string DigestMismatch = "DIGEST_MISMATCH";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string TooLarge = "TOO_LARGE";
    public const string HostNotAllowed = "HOST_NOT_ALLOWED";
    public const string SubnetExhausted = "SUBNET_EXHAUSTED";
    public const string Conflict = "CONFLICT";
    public const string RateLimited = "RATE_LIMITED";
    public const string Internal = "INTERNAL";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        BadInput, Forbidden, NotFound, RegistryUnreachable, RegistryAuthFailed, ImageNotFound, ArchMismatch,
        DigestMismatch, ManifestInvalid, TooLarge, HostNotAllowed, SubnetExhausted, Conflict, RateLimited, Internal,
    };
}

/// <summary>
/// A failure a user can act on, carrying its public error code. Activities throw it; the message
/// must never contain a credential. Across a durable activity boundary only the exception's type
/// name and message survive, so <see cref="Exception.Message"/> starts with <c>CODE:</c> and
/// <see cref="TryParseCode"/> recovers the code on the orchestrator side.
/// </summary>
public class PipelineException : Exception
{
    public PipelineException(string code, string message, Exception? inner = null)
        : base($"{code}: {message}", inner)
    {
        Code = code;
        Detail = message;
    }

    public string Code { get; }

    /// <summary>The message without the code prefix.</summary>
    public string Detail { get; }

    /// <summary>Splits a "CODE: message" text (as produced by this type) into its code and message.</summary>
    public static (string Code, string Message) TryParseCode(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            int colon = text.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0 && ErrorCodes.All.Contains(text[..colon]))
            {
                return (text[..colon], text[(colon + 2)..]);
            }
        }
        return (ErrorCodes.Internal, "The import failed unexpectedly; see the service logs.");
    }
}

/// <summary>Bytes did not hash to the digest they were asked for (TEST-MATRIX rows 1, 2).</summary>
public sealed class DigestMismatchException(string message) : PipelineException(ErrorCodes.DigestMismatch, message);
