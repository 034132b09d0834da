using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// The loopback address of the durable sidecar and the gRPC channel the worker and client use to
/// reach it.
/// </summary>
/// <remarks>
/// The worker and client are configured with a channel while services are registered, long before
/// the sidecar listens, so the port is fixed up front: a free port is picked by binding port 0 and
/// releasing it. The sidecar binds the same port moments later at startup.
/// </remarks>
public sealed class LocalDurableEndpoint : IDisposable
{
    /// <summary>Picks the port (<paramref name="port"/>, or a free one) and creates the channel.</summary>
    public LocalDurableEndpoint(int? port = null)
    {
        Port = port ?? FindFreeLoopbackPort();
        Address = new Uri($"http://127.0.0.1:{Port}");
        Channel = GrpcChannel.ForAddress(Address);
    }

    /// <summary>Port of the sidecar on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Plain-text HTTP/2 address of the sidecar.</summary>
    public Uri Address { get; }

    /// <summary>Channel shared by the durable worker and client; disposed with this endpoint.</summary>
    public GrpcChannel Channel { get; }

    /// <inheritdoc />
    public void Dispose() => Channel.Dispose();

    private static int FindFreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
