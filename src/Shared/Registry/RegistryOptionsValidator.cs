using Microsoft.Extensions.Options;

namespace Pipeline.Registry;

/// <summary>Start-up validation of <see cref="RegistryOptions"/>, naming the offending entry.</summary>
internal sealed class RegistryOptionsValidator : IValidateOptions<RegistryOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistryOptions options)
    {
        var failures = new List<string>();
        foreach (string bad in options.InvalidInsecureHosts())
        {
            failures.Add($"Pipeline:Registry:InsecureHosts entry '{bad}' is not a registry host[:port] (e.g. 'localhost:5000', '10.0.0.5:5000', '[::1]:5000'; no scheme, no path).");
        }
        if (options.TransientRetryCount is < 0 or > 10)
        {
            failures.Add("Pipeline:Registry:TransientRetryCount must be between 0 and 10.");
        }
        if (options.TransientRetryDelay < TimeSpan.Zero || options.TransientRetryDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add("Pipeline:Registry:TransientRetryDelay must be between 0 and 1 minute.");
        }
        if (options.ResponseHeadersTimeout <= TimeSpan.Zero)
        {
            failures.Add("Pipeline:Registry:ResponseHeadersTimeout must be positive.");
        }
        if (options.MaxRetryAfter < TimeSpan.Zero || options.MaxRetryAfter > TimeSpan.FromMinutes(10))
        {
            failures.Add("Pipeline:Registry:MaxRetryAfter must be between 0 and 10 minutes (longer waits belong to the durable retry policy).");
        }
        if (options.BlobResumeAttempts is < 0 or > 100)
        {
            failures.Add("Pipeline:Registry:BlobResumeAttempts must be between 0 and 100.");
        }
        if (options.BlobResumeDelay < TimeSpan.Zero || options.BlobResumeDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add("Pipeline:Registry:BlobResumeDelay must be between 0 and 1 minute.");
        }
        if (options.BlobReadTimeout <= TimeSpan.Zero)
        {
            failures.Add("Pipeline:Registry:BlobReadTimeout must be positive.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
