using System.Diagnostics.CodeAnalysis;

namespace DeviceAgent.Store;

/// <summary>
/// A blob's name: <c>sha256:</c> and 64 lower-case hex characters, nothing else. Digests from
/// the server become file names in the store, so they are parsed before any path is built from
/// them (no <c>../</c>, no other algorithm, no upper case).
/// </summary>
internal readonly record struct BlobDigest
{
    public const string Prefix = "sha256:";

    private BlobDigest(string hex) => Hex = hex;

    /// <summary>The 64 hex characters: the blob's file name.</summary>
    public string Hex { get; }

    /// <summary>The first 12 hex characters, for log lines.</summary>
    public string Short => Prefix + Hex[..12] + "…";

    public static BlobDigest FromHash(ReadOnlySpan<byte> sha256) => new(Convert.ToHexStringLower(sha256));

    public static bool TryParse(string? text, [NotNullWhen(true)] out BlobDigest? digest)
    {
        digest = null;
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal) || !IsHex(text.AsSpan(Prefix.Length)))
        {
            return false;
        }
        digest = new BlobDigest(text[Prefix.Length..]);
        return true;
    }

    /// <summary>The digest a file in <c>blobs/sha256/</c> is named after, if the name is one.</summary>
    public static bool TryFromFileName(string name, [NotNullWhen(true)] out BlobDigest? digest)
    {
        digest = IsHex(name) ? new BlobDigest(name) : null;
        return digest is not null;
    }

    public static BlobDigest Parse(string? text) =>
        TryParse(text, out var digest) ? digest.Value : throw new FormatException($"'{text}' is not a digest (sha256: followed by 64 lower-case hex characters).");

    public override string ToString() => Prefix + Hex;

    private static bool IsHex(ReadOnlySpan<char> hex)
    {
        if (hex.Length != 64)
        {
            return false;
        }
        foreach (char c in hex)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }
        return true;
    }
}
