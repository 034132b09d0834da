using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// A loopback TCP proxy to another local service whose answers (upstream to client) share one
/// byte rate, settable while connections are open; 0 lets them through at full speed. A test
/// uses it to keep a copy in flight long enough to act on it, whatever the machine's speed.
/// </summary>
public sealed class ThrottledTcpProxy : IAsyncDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private long _bytesPerSecond;
    private TimeSpan _nextFree;

    private ThrottledTcpProxy(IPEndPoint upstream, long bytesPerSecond)
    {
        _upstream = upstream;
        _bytesPerSecond = bytesPerSecond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary><c>127.0.0.1:port</c>, as an image reference names a registry.</summary>
    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Total bytes per second for answers across all connections; 0 for no limit.</summary>
    public long BytesPerSecond
    {
        get => Interlocked.Read(ref _bytesPerSecond);
        set => Interlocked.Exchange(ref _bytesPerSecond, value);
    }

    /// <summary>Starts a proxy to <paramref name="upstreamHost"/> (<c>127.0.0.1:port</c>).</summary>
    public static ThrottledTcpProxy Start(string upstreamHost, long bytesPerSecond) =>
        new(IPEndPoint.Parse(upstreamHost), bytesPerSecond);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] open;
        lock (_gate)
        {
            open = [.. _connections];
        }
        await Task.WhenAll(open);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var connection = RelayAsync(client);
            lock (_gate)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(_upstream, _stop.Token);
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var toUpstream = PumpAsync(client.GetStream(), upstream.GetStream(), paced: false, done.Token);
                var toClient = PumpAsync(upstream.GetStream(), client.GetStream(), paced: true, done.Token);
                // Either side closing ends the connection: a killed client must not leave the upstream half open.
                await Task.WhenAny(toUpstream, toClient);
                await done.CancelAsync();
                await Task.WhenAll(toUpstream, toClient);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool paced, CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkBytes];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (paced)
                {
                    await PaceAsync(n, cancellationToken);
                }
                await to.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> fit the shared rate after everything already let through.</summary>
    private Task PaceAsync(int bytes, CancellationToken cancellationToken)
    {
        long rate = BytesPerSecond;
        if (rate <= 0)
        {
            return Task.CompletedTask;
        }
        TimeSpan wait;
        lock (_gate)
        {
            var now = _clock.Elapsed;
            var start = _nextFree > now ? _nextFree : now;
            _nextFree = start + TimeSpan.FromSeconds((double)bytes / rate);
            wait = start - now;
        }
        return wait > TimeSpan.Zero ? Task.Delay(wait, cancellationToken) : Task.CompletedTask;
    }
}
