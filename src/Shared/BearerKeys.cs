using System.Security.Cryptography;
using System.Text;

namespace Pipeline;

/// <summary>
/// Bearer keys of API clients and devices: 256 random bits, shown once, stored only as their
/// SHA-256. A plain hash suffices: a hash of so many random bits cannot be reversed by guessing.
/// </summary>
public static class BearerKeys
{
    /// <summary>A new key: <paramref name="prefix"/> and 32 random bytes, base64url.</summary>
    public static string New(string prefix) =>
        prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The hex SHA-256 a key is stored as.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
