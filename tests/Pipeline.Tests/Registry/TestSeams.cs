using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

/// <summary>A DNS stand-in: answers from a function of the host and the how-many-th lookup of it this is.</summary>
internal sealed class FakeResolver(Func<string, int, IPAddress[]> answer) : IRegistryHostResolver
{
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public ConcurrentQueue<string> Lookups { get; } = new();

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Lookups.Enqueue(host);
        int n = _counts.AddOrUpdate(host, 1, (_, c) => c + 1);
        return Task.FromResult(answer(host, n));
    }

    /// <summary>Always the same answer for <paramref name="name"/>; anything else does not resolve.</summary>
    public static FakeResolver Fixed(string name, params IPAddress[] addresses) =>
        new((host, _) => host == name ? addresses : throw new SocketException((int)SocketError.HostNotFound));
}

/// <summary>
/// Records every address the client connects to. Only loopback is really connected; any other
/// address is refused here, so a test can never reach beyond this machine even if the guard failed.
/// </summary>
internal sealed class RecordingConnector : IRegistrySocketConnector
{
    private readonly RegistrySocketConnector _real = new();

    public ConcurrentQueue<IPEndPoint> Attempts { get; } = new();

    public ValueTask<Stream> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        Attempts.Enqueue(endPoint);
        if (!IPAddress.IsLoopback(endPoint.Address))
        {
            throw new SocketException((int)SocketError.ConnectionRefused);
        }
        return _real.ConnectAsync(endPoint, cancellationToken);
    }
}

/// <summary>
/// A clock frozen at <see cref="Now"/> whose timers fire at once, recording the delays asked for:
/// a test sees how long the client would wait for a Retry-After without waiting.
/// </summary>
internal sealed class RecordingTimeProvider : TimeProvider
{
    public DateTimeOffset Now { get; } = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public ConcurrentQueue<TimeSpan> Delays { get; } = new();

    public override DateTimeOffset GetUtcNow() => Now;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan && dueTime > TimeSpan.Zero)
        {
            Delays.Enqueue(dueTime);
            dueTime = TimeSpan.FromMilliseconds(1);
        }
        return System.CreateTimer(callback, state, dueTime, period);
    }
}
