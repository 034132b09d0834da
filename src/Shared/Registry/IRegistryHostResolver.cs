using System.Net;

namespace Pipeline.Registry;

/// <summary>
/// Resolves a registry host name to addresses for <see cref="RegistryConnectGuard"/>. The default asks
/// the system resolver; a host may register its own (before <c>AddPipelineRegistry()</c>), and tests
/// use one to simulate DNS answers that point at internal addresses or change between lookups.
/// </summary>
public interface IRegistryHostResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>The system resolver.</summary>
internal sealed class DnsRegistryHostResolver : IRegistryHostResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);
}
