using Microsoft.Extensions.Options;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class RegistryOptionsTests
{
    [Theory]
    [InlineData("localhost:5000/app", "http://localhost:5000/")]
    [InlineData("127.0.0.1:5001/app", "http://127.0.0.1:5001/")]
    [InlineData("[::1]:5000/app", "http://[::1]:5000/")]
    [InlineData("127.0.0.1:5002/app", "https://127.0.0.1:5002/")]
    [InlineData("ghcr.io/org/app", "https://ghcr.io/")]
    [InlineData("ubuntu", "https://registry-1.docker.io/")]
    public void BaseUri_InsecureHostsListed_HttpOnlyForThose(string reference, string expected)
    {
        var options = new RegistryOptions { InsecureHosts = " localhost:5000, 127.0.0.1:5001 ,[::1]:5000" };

        Assert.Equal(new Uri(expected), options.BaseUri(ImageReference.Parse(reference)));
    }

    [Theory]
    [InlineData("http://localhost:5000")]
    [InlineData("localhost:5000/path")]
    [InlineData("myhost")]
    [InlineData("host:99999")]
    public void Validate_MalformedInsecureHost_Fails(string entry)
    {
        var result = new RegistryOptionsValidator().Validate(null, new RegistryOptions { InsecureHosts = $"localhost:5000,{entry}" });

        Assert.True(result.Failed);
        Assert.Contains(entry, result.FailureMessage);
    }

    [Fact]
    public void Validate_OutOfRangeRetryAndResumeSettings_FailsNamingEach()
    {
        var result = new RegistryOptionsValidator().Validate(null, new RegistryOptions
        {
            MaxRetryAfter = TimeSpan.FromHours(1),
            BlobResumeAttempts = -1,
            BlobResumeDelay = TimeSpan.FromMinutes(5),
            BlobReadTimeout = TimeSpan.Zero,
        });

        Assert.True(result.Failed);
        Assert.Contains("MaxRetryAfter", result.FailureMessage);
        Assert.Contains("BlobResumeAttempts", result.FailureMessage);
        Assert.Contains("BlobResumeDelay", result.FailureMessage);
        Assert.Contains("BlobReadTimeout", result.FailureMessage);
    }

    [Fact]
    public void Defaults_RetryAfterCapIs60Seconds_AndValid()
    {
        var options = new RegistryOptions();

        Assert.Equal(TimeSpan.FromSeconds(60), options.MaxRetryAfter);
        Assert.False(new RegistryOptionsValidator().Validate(null, options).Failed);
    }

    [Fact]
    public void AddPipelineRegistry_BadInsecureHosts_FailsAtStartup()
    {
        using var client = new RegistryTestClient(new Dictionary<string, string?> { ["Pipeline:Registry:InsecureHosts"] = "ok.local:5000" });
        Assert.NotNull(client.Client);

        Assert.Throws<OptionsValidationException>(() =>
            new RegistryTestClient(new Dictionary<string, string?> { ["Pipeline:Registry:InsecureHosts"] = "http://bad" }));
    }
}
