namespace Pipeline.Tests.Fixtures;

/// <summary>
/// One platform of a test image and its layers (lowest first). The architecture and variant are
/// written into the image config and, for a multi-arch image, into the index entry.
/// </summary>
public sealed record ArchSpec(string Architecture, string? Variant, IReadOnlyList<LayerSpec> Layers, string Os = "linux")
{
    /// <summary>Optional <c>config.Cmd</c>.</summary>
    public IReadOnlyList<string>? Cmd { get; init; }

    /// <summary><c>os/architecture[/variant]</c>, e.g. <c>linux/arm/v7</c>.</summary>
    public string Platform => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    public static ArchSpec Amd64(params LayerSpec[] layers) => new("amd64", null, layers);

    public static ArchSpec Arm64(params LayerSpec[] layers) => new("arm64", null, layers);

    /// <summary>32-bit ARM (Debian's armhf): architecture <c>arm</c>, variant <c>v7</c>.</summary>
    public static ArchSpec ArmV7(params LayerSpec[] layers) => new("arm", "v7", layers);
}
