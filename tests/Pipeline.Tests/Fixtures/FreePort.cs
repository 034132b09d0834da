using System.Net;
using System.Net.Sockets;

namespace Pipeline.Tests.Fixtures;

/// <summary>Free TCP ports on the loopback interface, for services the fixtures start.</summary>
public static class FreePort
{
    /// <summary>A port that was free on 127.0.0.1 a moment ago (bind to port 0, read the port, release it).</summary>
    public static int Next() => Next(1)[0];

    /// <summary><paramref name="count"/> distinct free ports, all held at once while they are chosen.</summary>
    public static int[] Next(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var listeners = new List<TcpListener>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
