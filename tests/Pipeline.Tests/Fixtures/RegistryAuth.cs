using System.Net.Http.Headers;
using System.Text;

namespace Pipeline.Tests.Fixtures;

/// <summary>Basic-auth credentials for a <see cref="RegistryFixture"/> (an htpasswd entry).</summary>
public sealed record RegistryAuth(string User, string Password)
{
    /// <summary>The <c>Authorization: Basic …</c> header value for these credentials.</summary>
    public AuthenticationHeaderValue ToBasicHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));

    /// <summary>Keeps the password out of test output.</summary>
    public override string ToString() => $"RegistryAuth {{ User = {User}, Password = *** }}";
}
