using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Oci;

/// <summary>
/// A content digest, <c>sha256:</c> + 64 lower-case hex
/// (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests).
/// Only sha256 is accepted; anything else is <see cref="ErrorCodes.BadInput"/>, so a digest can
/// be used safely as a blob name or a URL segment.
/// </summary>
[JsonConverter(typeof(DigestJsonConverter))]
public readonly record struct Digest
{
    private const string Prefix = "sha256:";

    private Digest(string hex) => Hex = hex;

    /// <summary>64 lower-case hex characters.</summary>
    public string Hex { get; }

    public bool IsEmpty => Hex is null;

    public static Digest Parse(string? text) =>
        TryParse(text, out var d)
            ? d
            : throw new PipelineException(ErrorCodes.BadInput, $"'{Truncate(text)}' is not a valid digest: expected sha256: followed by 64 lower-case hex characters.");

    public static bool TryParse(string? text, out Digest digest)
    {
        digest = default;
        if (text is null || text.Length != Prefix.Length + 64 || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var hex = text.AsSpan(Prefix.Length);
        foreach (char c in hex)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }
        digest = new Digest(hex.ToString());
        return true;
    }

    public static Digest FromHash(ReadOnlySpan<byte> sha256) => new(Convert.ToHexStringLower(sha256));

    public static Digest Compute(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    public override string ToString() => Hex is null ? string.Empty : Prefix + Hex;

    private static string Truncate(string? s) => s is null ? "" : s.Length > 80 ? s[..80] + "…" : s;
}

public sealed class DigestJsonConverter : JsonConverter<Digest>
{
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Digest.TryParse(reader.GetString(), out var d) ? d : throw new JsonException("invalid digest");

    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
