using System.Diagnostics;
using System.Globalization;

namespace DeviceAgent.Rounds;

/// <summary>
/// The optional <c>--health-cmd</c>: run with <c>sh -c</c> after a version is made current, in
/// the version's folder, with <c>AGENT_INSTANCE_ID</c>, <c>AGENT_VERSION</c> and
/// <c>AGENT_VERSION_DIR</c> set. Exit 0 is healthy; its last line of output becomes the report's
/// message. A command that outlives the timeout is killed and counts as unhealthy. Without a
/// command a verified install is healthy.
/// </summary>
/// <remarks>
/// The command's output goes to a temporary file, not a pipe: a health command that starts a
/// daemon (which inherits its stdout) must not keep the agent waiting for the pipe to close.
/// </remarks>
internal sealed class HealthCheck(string? command, TimeSpan timeout)
{
    public async Task<(bool Healthy, string Message)> RunAsync(string instanceId, int version, string versionDirectory, CancellationToken cancellationToken)
    {
        string v = version.ToString(CultureInfo.InvariantCulture);
        if (string.IsNullOrWhiteSpace(command))
        {
            return (true, $"version {v} installed and verified (no --health-cmd)");
        }
        string output = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("sh") { UseShellExecute = false, WorkingDirectory = versionDirectory };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec >\"$AGENT_HEALTH_OUTPUT\" 2>&1 </dev/null\n" + command);
            psi.Environment["AGENT_INSTANCE_ID"] = instanceId;
            psi.Environment["AGENT_VERSION"] = v;
            psi.Environment["AGENT_VERSION_DIR"] = versionDirectory;
            psi.Environment["AGENT_HEALTH_OUTPUT"] = output;
            using var process = Process.Start(psi) ?? throw new InvalidOperationException("sh did not start");
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                return (false, $"health check did not finish within {timeout.TotalSeconds:0} s");
            }
            string? last = LastLine(output);
            string message = last ?? (process.ExitCode == 0 ? "healthy" : $"health check exited with code {process.ExitCode}");
            return (process.ExitCode == 0, Api.StatusReport.Trim(message)!);
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>The last non-empty line, trimmed, read from the end (a chatty command may write a lot).</summary>
    private static string? LastLine(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long tail = Math.Min(file.Length, 16 * 1024);
        file.Seek(-tail, SeekOrigin.End);
        using var reader = new StreamReader(file);
        return reader.ReadToEnd().Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0);
    }
}
