using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Benchmarks.Api;

/// <summary>
/// The API's limits as a client meets them, through LocalHost with its default limits on a fresh
/// Azurite: how many requests one key gets served, in its burst and then per second, when it
/// sends as fast as it can; and how long the refusal of a flood takes — a 5,000-alias GraphQL
/// request (refused by its size), a 1,000-alias one (refused from its parse) and a request of a
/// key over its rate (429) — against the answer time of
/// the smallest served query in the same run.
/// </summary>
public static class LimitsBenchmark
{
    private const int InFlight = 8;
    private static readonly TimeSpan FloodFor = TimeSpan.FromSeconds(12);
    private const int Refusals = 200;
    private const double TargetRefusalMs = 5;

    public static async Task<int> RunAsync(string[] args)
    {
        await using var azurite = await AzuriteFixture.StartAsync();
        await using var host = await LocalHostProcess.StartAsync(azurite, insecureHosts: "");
        using var api = new ApiClient(host.BaseUri);
        using var http = new HttpClient { BaseAddress = host.BaseUri };
        string customer = "limitsbench";
        string smallQuery = $"{{ DM_get_node_services(customer_id: \"{customer}\") {{ total }} }}";
        string flood = Aliases(customer, 5000);
        string parsedFlood = Aliases(customer, 1000);

        // 1. One key, as fast as it can: served until the burst is spent, then the sustained rate.
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        for (int i = 0; i < 20; i++)
        {
            await SendAsync(http, await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read"), smallQuery); // warm-up on other keys
        }
        var served = new List<double>();
        var refusedAt = new List<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            while (clock.Elapsed < FloodFor)
            {
                var (status, _) = await SendAsync(http, key, smallQuery);
                lock (served)
                {
                    (status == HttpStatusCode.OK ? served : refusedAt).Add(clock.Elapsed.TotalSeconds);
                }
            }
        }));
        double firstRefusal = refusedAt.Count == 0 ? double.NaN : refusedAt.Min();
        int beforeFirst = served.Count(t => t < firstRefusal);
        double afterSeconds = FloodFor.TotalSeconds - firstRefusal;
        int afterServed = served.Count(t => t >= firstRefusal);
        Console.WriteLine($"  one key, {InFlight} requests in flight for {FloodFor.TotalSeconds:0} s: {served.Count} served, {refusedAt.Count} refused with 429");
        Console.WriteLine($"RESULT one key: {beforeFirst} served before the first 429 (at {firstRefusal:0.00} s), then {afterServed / afterSeconds:0.0} served/s sustained (setting: 50/s, burst 500)");

        // 2. What a refusal costs: the alias flood and a 429, against the smallest served query.
        string fresh = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        var small = await TimeAsync(Refusals, () => SendAsync(http, fresh, smallQuery), HttpStatusCode.OK, pause: TimeSpan.FromMilliseconds(25));
        string flooder = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        var floods = await TimeAsync(Refusals, () => SendAsync(http, flooder, flood), HttpStatusCode.RequestEntityTooLarge, pause: TimeSpan.FromMilliseconds(25), expectCode: "TOO_LARGE");
        var parsedFloods = await TimeAsync(Refusals, () => SendAsync(http, flooder, parsedFlood), HttpStatusCode.OK, pause: TimeSpan.FromMilliseconds(25), expectCode: "TOO_LARGE");
        var limited = await TimeRefusalsAsync(Refusals, () => SendAsync(http, key, smallQuery));
        Console.WriteLine($"  answer time, ms (p50 / p99 / max), client side on loopback, {Refusals} requests each:");
        Print("smallest served query", small);
        Print($"5,000-alias flood ({flood.Length / 1024} KiB), refused by size", floods);
        Print($"1,000-alias flood ({parsedFlood.Length / 1024} KiB), refused from its parse", parsedFloods);
        Print("key over its rate, refused (429)", limited);
        Console.WriteLine($"RESULT refused 5,000-alias flood p50 = {Percentile(floods, 0.5):0.00} ms, p99 = {Percentile(floods, 0.99):0.00} ms (target < {TargetRefusalMs} ms); 1,000-alias flood p50 = {Percentile(parsedFloods, 0.5):0.00} ms, p99 = {Percentile(parsedFloods, 0.99):0.00} ms; 429 p50 = {Percentile(limited, 0.5):0.00} ms; served query p50 = {Percentile(small, 0.5):0.00} ms");
        return 0;
    }

    private static string Aliases(string customer, int count)
    {
        var query = new StringBuilder("{ ");
        for (int i = 0; i < count; i++)
        {
            query.Append($"a{i}: DM_get_node_services(customer_id: \"{customer}\") {{ total }} ");
        }
        return query.Append('}').ToString();
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient http, string key, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/graphql")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<double[]> TimeAsync(int count, Func<Task<(HttpStatusCode Status, string Body)>> send, HttpStatusCode expected, TimeSpan pause, string? expectCode = null)
    {
        var ms = new double[count];
        for (int i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            var (status, body) = await send();
            ms[i] = watch.Elapsed.TotalMilliseconds;
            if (status != expected || (expectCode is not null && !body.Contains(expectCode, StringComparison.Ordinal)))
            {
                throw new InvalidOperationException($"expected {expected} {expectCode}, got {(int)status}: {body[..Math.Min(200, body.Length)]}");
            }
            await Task.Delay(pause);
        }
        return ms;
    }

    /// <summary>Answer times of <paramref name="count"/> 429s; the key's bucket keeps refilling, so the few requests it still serves are not counted.</summary>
    private static async Task<double[]> TimeRefusalsAsync(int count, Func<Task<(HttpStatusCode Status, string Body)>> send)
    {
        var ms = new List<double>();
        for (int attempt = 0; ms.Count < count && attempt < count * 100; attempt++)
        {
            var watch = Stopwatch.StartNew();
            var (status, _) = await send();
            if (status == HttpStatusCode.TooManyRequests)
            {
                ms.Add(watch.Elapsed.TotalMilliseconds);
            }
        }
        return [.. ms];
    }

    private static void Print(string label, double[] ms) =>
        Console.WriteLine($"    {label,-42} {Percentile(ms, 0.5),7:0.00} {Percentile(ms, 0.99),7:0.00} {ms.Max(),7:0.00}");

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
