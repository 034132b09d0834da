namespace Pipeline.Oci;

/// <summary>
/// The platform's architecture names (API.md): <c>amd64</c> = linux/amd64, <c>arm64</c> =
/// linux/arm64 (variant empty or v8), <c>armhf</c> = linux/arm/v7.
/// </summary>
public static class Architectures
{
    public const string Amd64 = "amd64";
    public const string Arm64 = "arm64";
    public const string Armhf = "armhf";

    public static readonly IReadOnlyList<string> All = [Amd64, Arm64, Armhf];

    public static bool IsKnown(string? arch) => arch is Amd64 or Arm64 or Armhf;

    /// <summary>Whether an index entry's platform is the one the platform name stands for.</summary>
    public static bool Matches(string arch, Platform? platform)
    {
        if (platform is null || !string.Equals(platform.Os, "linux", StringComparison.Ordinal))
        {
            return false;
        }
        return arch switch
        {
            Amd64 => platform.Architecture == "amd64",
            Arm64 => platform.Architecture == "arm64" && platform.Variant is null or "" or "v8",
            Armhf => platform.Architecture == "arm" && platform.Variant is "v7",
            _ => false,
        };
    }

    /// <summary>The OCI platform an architecture name stands for.</summary>
    public static Platform ToPlatform(string arch) => arch switch
    {
        Amd64 => new Platform("linux", "amd64"),
        Arm64 => new Platform("linux", "arm64"),
        Armhf => new Platform("linux", "arm", "v7"),
        _ => throw new PipelineException(ErrorCodes.BadInput, $"Unknown arch '{arch}': use amd64, armhf or arm64."),
    };
}
