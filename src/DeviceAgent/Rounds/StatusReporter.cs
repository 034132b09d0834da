using DeviceAgent.Api;
using DeviceAgent.Progress;

namespace DeviceAgent.Rounds;

/// <summary>
/// Sends status reports for one round, each (instance, version, state) once. A report that does
/// not get through is logged, not fatal: the next round reports again, and the target, not the
/// report, decides what runs.
/// </summary>
internal sealed class StatusReporter(DeviceApiClient api, AgentLog log)
{
    private readonly HashSet<(string Instance, int Version, string State)> _sent = [];

    public async Task ReportAsync(string instanceId, int version, string state, bool healthy, string? message, CancellationToken cancellationToken)
    {
        if (!_sent.Add((instanceId, version, state)))
        {
            return;
        }
        try
        {
            await api.ReportAsync(instanceId, new StatusReport(version, state, healthy, message), cancellationToken).ConfigureAwait(false);
            log.Info($"report {instanceId} version {version}: {state}{(state == StatusReport.Running ? (healthy ? " (healthy)" : " (unhealthy)") : "")}");
        }
        catch (Exception e) when (e is DeviceApiException or HttpRequestException or TimeoutException)
        {
            log.Warn($"could not report {state} for {instanceId} version {version}: {e.Message}");
        }
    }
}
