namespace Pipeline;

/// <summary>Top-level settings (configuration section <c>Pipeline</c>, API.md configuration table).</summary>
public sealed class PipelineOptions
{
    public const string Section = "Pipeline";

    /// <summary>Bearer key with the admin role; unset means admin calls are refused.</summary>
    public string? AdminKey { get; set; }
}
