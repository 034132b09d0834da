using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Fleet.Devices;

/// <summary>
/// Device keys: 256 random bits, shown once, stored only as their SHA-256 (like API keys: a
/// hash of so many random bits cannot be reversed by guessing).
/// </summary>
public static class DeviceKeys
{
    public const string Prefix = "dk_";

    public static string New() => BearerKeys.New(Prefix);

    public static string Hash(string key) => BearerKeys.Hash(key);

    /// <summary>Whether <paramref name="key"/> hashes to <paramref name="storedHash"/>, in constant time.</summary>
    public static bool Matches(string? key, string? storedHash) =>
        !string.IsNullOrEmpty(key) && key.Length <= 256 && !string.IsNullOrEmpty(storedHash)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(key)), Encoding.ASCII.GetBytes(storedHash));
}
