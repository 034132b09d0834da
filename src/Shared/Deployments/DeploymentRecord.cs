using System.Globalization;

namespace Pipeline.Deployments;

/// <summary>
/// What was last sent to an instance (kept on its catalog row): the version, the message id, when
/// the message was due and how to withdraw it while it waits, and how many messages each version
/// has had (so a later message of a version gets the next <c>:n</c> id). A fan-out compares the
/// target with this record to send each move once; a replay after a crash finds the record
/// unwritten and sends the same message with the same id again.
/// </summary>
public sealed record DeploymentRecord(
    int Version,
    string MessageId,
    DateTimeOffset? ScheduledFor,
    ScheduledHandle? Handle,
    IReadOnlyDictionary<int, int> Sends)
{
    /// <summary>How many messages version <paramref name="version"/> has had.</summary>
    public int SendsOf(int version) => Sends.GetValueOrDefault(version);

    /// <summary>The send counts as stored: <c>"1:1,3:2"</c>.</summary>
    public static string FormatSends(IReadOnlyDictionary<int, int> sends) =>
        string.Join(',', sends.OrderBy(kv => kv.Key).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}:{kv.Value}")));

    /// <summary>Reads <see cref="FormatSends"/>; anything unreadable counts as no sends.</summary>
    public static IReadOnlyDictionary<int, int> ParseSends(string? text)
    {
        var sends = new Dictionary<int, int>();
        foreach (string pair in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split(':');
            if (parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                sends[v] = n;
            }
        }
        return sends;
    }
}
