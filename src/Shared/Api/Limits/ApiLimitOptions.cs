using Microsoft.Extensions.Options;

namespace Pipeline.Api.Limits;

/// <summary>
/// What one caller may ask of the API (configuration section <c>Pipeline:Limits</c>): the size
/// of a GraphQL request, how often a key, a device or a webhook may call (token buckets: a
/// sustained rate and a burst), and how long a request may take. Rates are per process: with
/// several instances of the app, each counts its own. (How many imports of one customer run at
/// once is <see cref="Imports.ImportLimitOptions"/>, in the same section.)
/// </summary>
public sealed class ApiLimitOptions
{
    public const string Section = "Pipeline:Limits";

    /// <summary>
    /// Bytes of one GraphQL request body, in KiB. The largest documented request (an import with
    /// its env and settings) is a few KiB; a flood of aliases is refused by its size alone.
    /// </summary>
    public int MaxGraphQLRequestKiB { get; set; } = 128;

    /// <summary>Deepest field nesting of a GraphQL request (the documented queries need 5).</summary>
    public int MaxQueryDepth { get; set; } = 10;

    /// <summary>GraphQL complexity (each field 1, fields under lists multiplied by the analyzer's list factor) one request may have; the documented queries stay below 20,000.</summary>
    public int MaxQueryComplexity { get; set; } = 200_000;

    /// <summary>Aliased fields in one GraphQL request: each alias is another resolver run.</summary>
    public int MaxAliases { get; set; } = 20;

    /// <summary>Top-level fields (queries or mutations) in one GraphQL request.</summary>
    public int MaxRootFields { get; set; } = 10;

    public double KeyRequestsPerSecond { get; set; } = 50;

    public int KeyBurst { get; set; } = 500;

    public double DeviceRequestsPerSecond { get; set; } = 2;

    public int DeviceBurst { get; set; } = 30;

    public double WebhookRequestsPerSecond { get; set; } = 10;

    public int WebhookBurst { get; set; } = 100;

    public TimeSpan GraphQLTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan DeviceTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class ApiLimitOptionsValidator : IValidateOptions<ApiLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiLimitOptions o)
    {
        var failures = new List<string>();
        if (o.MaxGraphQLRequestKiB is < 16 or > 1024)
        {
            failures.Add("Pipeline:Limits:MaxGraphQLRequestKiB must be 16-1024.");
        }
        if (o.MaxQueryDepth < 5 || o.MaxAliases < 0 || o.MaxRootFields < 1 || o.MaxQueryComplexity < 50)
        {
            failures.Add("Pipeline:Limits: MaxQueryDepth must be at least 5, MaxQueryComplexity at least 50, MaxRootFields at least 1, MaxAliases not negative.");
        }
        if (o.KeyRequestsPerSecond <= 0 || o.DeviceRequestsPerSecond <= 0 || o.WebhookRequestsPerSecond <= 0 || o.KeyBurst < 1 || o.DeviceBurst < 1 || o.WebhookBurst < 1)
        {
            failures.Add("Pipeline:Limits: request rates must be positive and bursts at least 1.");
        }
        if (o.GraphQLTimeout <= TimeSpan.Zero || o.DeviceTimeout <= TimeSpan.Zero || o.WebhookTimeout <= TimeSpan.Zero)
        {
            failures.Add("Pipeline:Limits: timeouts must be positive.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
