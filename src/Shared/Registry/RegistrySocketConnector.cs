using System.Net;
using System.Net.Sockets;

namespace Pipeline.Registry;

/// <summary>
/// Opens the TCP connection to an address <see cref="RegistryConnectGuard"/> has already checked.
/// A seam so that tests can observe which address is connected to without touching any network.
/// </summary>
internal interface IRegistrySocketConnector
{
    ValueTask<Stream> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken);
}

internal sealed class RegistrySocketConnector : IRegistrySocketConnector
{
    public async ValueTask<Stream> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
