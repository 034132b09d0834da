using System.Globalization;

namespace Pipeline.Fleet.Rollout;

/// <summary>
/// Which version an instance should run (API.md <c>VersionTargetSelectorInput</c>): the node
/// service's latest (<c>null</c>), a pinned one (<c>"version:201"</c>) or none at all
/// (<c>"disabled"</c>: not orchestrated).
/// </summary>
public readonly record struct VersionTargetSelector
{
    public const string DisabledText = "disabled";
    public const string VersionPrefix = "version:";

    /// <summary>How the catalog stores the latest selector (the API shows it as null).</summary>
    private const string LatestText = "latest";

    private VersionTargetSelector(VersionTargetKind kind, int? version)
    {
        Kind = kind;
        PinnedVersion = version;
    }

    public static VersionTargetSelector Latest => new(VersionTargetKind.Latest, null);

    public static VersionTargetSelector Disabled => new(VersionTargetKind.Disabled, null);

    public static VersionTargetSelector Pinned(int version) =>
        version > 0 ? new(VersionTargetKind.Pinned, version) : throw new ArgumentOutOfRangeException(nameof(version));

    public VersionTargetKind Kind { get; }

    /// <summary>The pinned version, for <see cref="VersionTargetKind.Pinned"/>.</summary>
    public int? PinnedVersion { get; }

    /// <summary>
    /// Parses a selector's value: null (or <c>"latest"</c>, an alias) for the latest version,
    /// <c>"version:N"</c> with N a positive whole number, or <c>"disabled"</c>; anything else is
    /// <c>BAD_INPUT</c>.
    /// </summary>
    public static VersionTargetSelector Parse(string? value, string field = "version_target_selector.value")
    {
        string? text = value?.Trim();
        if (value is null || string.Equals(text, LatestText, StringComparison.Ordinal))
        {
            return Latest;
        }
        if (string.Equals(text, DisabledText, StringComparison.Ordinal))
        {
            return Disabled;
        }
        if (text is not null && text.StartsWith(VersionPrefix, StringComparison.Ordinal)
            && text.Length > VersionPrefix.Length && text.Length <= VersionPrefix.Length + 9
            && text[VersionPrefix.Length] != '0'
            && int.TryParse(text.AsSpan(VersionPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int version))
        {
            return Pinned(version);
        }
        throw new PipelineException(ErrorCodes.BadInput, $"{field}: '{value}' is not a selector; use null (latest), \"version:N\" (pinned) or \"disabled\".");
    }

    /// <summary>What the selector picks when the node service's latest version is <paramref name="latestVersion"/>.</summary>
    public int? Resolve(int? latestVersion) => Kind switch
    {
        VersionTargetKind.Latest => latestVersion,
        VersionTargetKind.Pinned => PinnedVersion,
        _ => null,
    };

    /// <summary>The API's form: null, <c>"version:N"</c> or <c>"disabled"</c>.</summary>
    public string? ToApiValue() => Kind switch
    {
        VersionTargetKind.Pinned => VersionPrefix + PinnedVersion!.Value.ToString(CultureInfo.InvariantCulture),
        VersionTargetKind.Disabled => DisabledText,
        _ => null,
    };

    /// <summary>The catalog's form: the API's, with <c>"latest"</c> for null.</summary>
    public string ToStorageValue() => ToApiValue() ?? LatestText;

    /// <summary>
    /// Reads <see cref="ToStorageValue"/>. A missing value reads as latest (the default); a value
    /// this code does not know reads as disabled, so nothing is rolled out by mistake.
    /// </summary>
    public static VersionTargetSelector FromStorageValue(string? value)
    {
        try
        {
            return Parse(value);
        }
        catch (PipelineException)
        {
            return Disabled;
        }
    }

    public override string ToString() => ToStorageValue();
}
