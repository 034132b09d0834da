using System.Globalization;

namespace Pipeline.Fleet.Rollout;

/// <summary>
/// How a node service's new versions roll out (API.md <c>RolloutPolicyInput</c>): cumulative
/// wave percentages ending at 100, the smallest wave, how long a wave must stay healthy before
/// the next starts, the failed or silent share of a wave that rolls the version back, and how
/// long an instance may stay silent once its update window opened.
/// </summary>
public sealed record RolloutPolicy(
    IReadOnlyList<int> Waves,
    int MinWaveInstances,
    int SoakSeconds,
    double MaxFailurePercent,
    int ReportTimeoutSeconds)
{
    public const int MaxWaves = 20;
    public const int MaxSoakSeconds = 7 * 24 * 3600;
    public const int MaxReportTimeoutSeconds = 30 * 24 * 3600;

    /// <summary>Everyone at once, still monitored: one wave of 100 %, 5 min soak, 20 % failures, 1 h silence.</summary>
    public static RolloutPolicy Default { get; } = new([100], 1, 300, 20, 3600);

    /// <summary>
    /// Reads a <c>RolloutPolicyInput</c>: fields left out keep <paramref name="basis"/>'s value
    /// (the default for a node service that has none). Anything out of range is
    /// <c>BAD_INPUT</c> naming the field.
    /// </summary>
    public static RolloutPolicy Parse(IDictionary<string, object?> input, RolloutPolicy? basis = null, string field = "rollout_policy")
    {
        var policy = basis ?? Default;
        if (input.TryGetValue("waves", out var waves) && waves is not null)
        {
            var list = waves is IEnumerable<object?> items
                ? items.Select(w => w is null ? -1 : Convert.ToInt32(w, CultureInfo.InvariantCulture)).ToList()
                : throw Bad(field + ".waves", "must be a list of percentages");
            policy = policy with { Waves = list };
        }
        if (input.TryGetValue("min_wave_instances", out var min) && min is not null)
        {
            policy = policy with { MinWaveInstances = Convert.ToInt32(min, CultureInfo.InvariantCulture) };
        }
        if (input.TryGetValue("soak_seconds", out var soak) && soak is not null)
        {
            policy = policy with { SoakSeconds = Convert.ToInt32(soak, CultureInfo.InvariantCulture) };
        }
        if (input.TryGetValue("max_failure_percent", out var max) && max is not null)
        {
            policy = policy with { MaxFailurePercent = Convert.ToDouble(max, CultureInfo.InvariantCulture) };
        }
        if (input.TryGetValue("report_timeout_seconds", out var timeout) && timeout is not null)
        {
            policy = policy with { ReportTimeoutSeconds = Convert.ToInt32(timeout, CultureInfo.InvariantCulture) };
        }
        policy.Validate(field);
        return policy;
    }

    /// <summary>Throws <c>BAD_INPUT</c> naming the first field out of range.</summary>
    public void Validate(string field = "rollout_policy")
    {
        if (Waves.Count is 0 or > MaxWaves)
        {
            throw Bad(field + ".waves", $"give 1-{MaxWaves} percentages");
        }
        for (int i = 0; i < Waves.Count; i++)
        {
            if (Waves[i] is < 1 or > 100 || (i > 0 && Waves[i] <= Waves[i - 1]))
            {
                throw Bad($"{field}.waves[{i}]", "percentages must rise strictly, each 1-100");
            }
        }
        if (Waves[^1] != 100)
        {
            throw Bad(field + ".waves", "the last wave must be 100 (everyone)");
        }
        if (MinWaveInstances < 1)
        {
            throw Bad(field + ".min_wave_instances", "must be at least 1");
        }
        if (SoakSeconds is < 0 or > MaxSoakSeconds)
        {
            throw Bad(field + ".soak_seconds", $"must be 0-{MaxSoakSeconds}");
        }
        if (double.IsNaN(MaxFailurePercent) || MaxFailurePercent is < 0 or > 100)
        {
            throw Bad(field + ".max_failure_percent", "must be 0-100");
        }
        if (ReportTimeoutSeconds is < 1 or > MaxReportTimeoutSeconds)
        {
            throw Bad(field + ".report_timeout_seconds", $"must be 1-{MaxReportTimeoutSeconds}");
        }
    }

    /// <summary>
    /// Whether <paramref name="failed"/> of <paramref name="members"/> rolls the version back:
    /// the share reaches the threshold (exactly at it counts), and at least one instance failed,
    /// so a threshold of 0 means "any failure".
    /// </summary>
    public bool RollsBack(int failed, int members) =>
        failed > 0 && members > 0 && failed * 100.0 >= MaxFailurePercent * members - 1e-9;

    private static PipelineException Bad(string field, string why) => new(ErrorCodes.BadInput, $"{field}: {why}.");
}
