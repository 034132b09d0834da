using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Webhooks;

/// <summary>
/// Checks that a delivery comes from whoever holds the webhook's secret: GitHub's
/// <c>X-Hub-Signature-256</c> (HMAC-SHA256 of the raw body), or the secret itself as a bearer
/// token or <c>?token=</c>. Every comparison takes the same time whatever matches.
/// </summary>
public static class WebhookProof
{
    private const string SignaturePrefix = "sha256=";

    /// <summary>Whether <paramref name="signatureHeader"/> is <c>sha256=</c> and the hex HMAC of the body.</summary>
    public static bool SignatureMatches(string? signatureHeader, byte[] bodyHmac)
    {
        if (signatureHeader is null || !signatureHeader.StartsWith(SignaturePrefix, StringComparison.Ordinal) || signatureHeader.Length != SignaturePrefix.Length + 64)
        {
            return false;
        }
        byte[] expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(bodyHmac));
        byte[] given = Encoding.ASCII.GetBytes(signatureHeader[SignaturePrefix.Length..].ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>Whether a presented token is the secret.</summary>
    public static bool TokenMatches(string? presented, string secret) =>
        presented is { Length: > 0 and <= 512 }
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>An HMAC-SHA256 computed over a body as it streams in.</summary>
    public static IncrementalHash NewBodyHmac(string secret) => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
}
