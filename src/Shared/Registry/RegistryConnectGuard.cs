using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pipeline.Registry;

/// <summary>
/// The SSRF guard, run by <see cref="SocketsHttpHandler.ConnectCallback"/> for every connection the
/// registry client opens (registries, token realms, redirect targets; TEST-MATRIX rows 16-18): it
/// resolves the host itself, refuses the connection when any answer is not a public unicast address,
/// and then connects to exactly the addresses it checked, so a DNS answer that changes between the
/// check and the connect (rebinding) cannot redirect it. Plain HTTP is refused too. Both are allowed
/// only for hosts listed in <c>Pipeline__Registry__InsecureHosts</c>. A refusal is
/// <c>HOST_NOT_ALLOWED</c>, raised before any socket is opened and never retried.
/// </summary>
internal sealed class RegistryConnectGuard(
    IOptions<RegistryOptions> options, IRegistryHostResolver resolver, IRegistrySocketConnector connector, ILogger<RegistryConnectGuard> logger)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var requestUri = context.InitialRequestMessage.RequestUri;
        string authority = requestUri?.Authority ?? $"{context.DnsEndPoint.Host}:{context.DnsEndPoint.Port}";
        bool insecure = options.Value.IsInsecure(authority);
        if (!insecure && requestUri?.Scheme != Uri.UriSchemeHttps)
        {
            throw new PipelineException(
                ErrorCodes.HostNotAllowed,
                $"{authority} would be reached over plain HTTP, which is refused; only hosts listed in Pipeline__Registry__InsecureHosts may use it.");
        }

        string host = context.DnsEndPoint.Host.TrimStart('[').TrimEnd(']');
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolver.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{host} could not be resolved ({ex.SocketErrorCode}).", ex);
            }
            if (addresses.Length == 0)
            {
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{host} resolved to no address.");
            }
        }

        if (!insecure)
        {
            // Every answer must pass: a host with one public and one internal address is refused
            // rather than trusted for whichever address happens to be tried.
            foreach (var address in addresses)
            {
                if (AddressPolicy.Refusal(address) is { } why)
                {
                    logger.HostRefused(authority, address.ToString(), why);
                    throw new PipelineException(
                        ErrorCodes.HostNotAllowed,
                        $"{authority} resolves to {address}, {why}; registries must be public unless listed in Pipeline__Registry__InsecureHosts.");
                }
            }
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            try
            {
                // The checked address itself: the handler never resolves the name again.
                return await connector.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                last = ex;
            }
        }
        throw new HttpRequestException(HttpRequestError.ConnectionError, $"No address of {authority} accepted a connection.", last);
    }
}
