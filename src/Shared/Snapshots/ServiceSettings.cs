using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace Pipeline.Snapshots;

/// <summary>
/// The settings of a version besides its images: environment, limits, device access. A change
/// to any of them makes a new version, like a changed image does.
/// </summary>
public sealed record ServiceSettings(
    [property: JsonPropertyName("env")] IReadOnlyDictionary<string, string> Env,
    [property: JsonPropertyName("memory_limit_mb")] int? MemoryLimitMb,
    [property: JsonPropertyName("cpu_limit")] double? CpuLimit,
    [property: JsonPropertyName("device_access")] IReadOnlyList<string> DeviceAccess)
{
    public static readonly ServiceSettings Empty = new(new Dictionary<string, string>(), null, null, []);

    /// <summary>A stable text of the settings, independent of key order, for version fingerprints.</summary>
    public string Canonical()
    {
        var text = new StringBuilder();
        foreach (var (k, v) in Env.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append("env:").Append(k).Append('=').Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(v))).Append('\n');
        }
        text.Append("mem:").Append(MemoryLimitMb).Append('\n');
        text.Append("cpu:").Append(CpuLimit?.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        text.Append("dev:").Append(string.Join(',', DeviceAccess.Order(StringComparer.Ordinal))).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
