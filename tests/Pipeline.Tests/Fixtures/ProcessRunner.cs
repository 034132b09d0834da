using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Pipeline.Tests.Fixtures;

/// <summary>Runs a command to completion (no shell), with a timeout; a non-zero exit throws with stderr.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    public static Task<ProcessResult> RunAsync(string fileName, params string[] arguments) =>
        RunAsync(fileName, arguments, workingDirectory: null);

    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    /// <param name="checkExitCode">When false, a non-zero exit code is returned instead of thrown.</param>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        bool checkExitCode = true,
        CancellationToken cancellationToken = default)
    {
        var psi = ProcessStart.Info(fileName, arguments, workingDirectory, environment);

        var commandLine = Describe(fileName, arguments);
        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Could not start '{fileName}': {e.Message}. Is it installed? Run scripts/setup.sh.", e);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        var limit = timeout ?? DefaultTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"{commandLine} did not finish within {limit.TotalSeconds:0.#} s. stderr:\n{Snapshot(stderr)}");
        }

        var result = new ProcessResult(process.ExitCode, Snapshot(stdout), Snapshot(stderr));
        if (checkExitCode && result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{commandLine} exited with code {result.ExitCode}. stderr:\n{result.StdErr}\nstdout:\n{Tail(result.StdOut)}");
        }
        return result;
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (sb)
        {
            sb.AppendLine(line);
        }
    }

    private static string Snapshot(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }

    private static string Tail(string text, int maxChars = 4000) =>
        text.Length <= maxChars ? text : "…" + text[^maxChars..];

    private static string Describe(string fileName, IReadOnlyList<string> arguments) =>
        "'" + string.Join(' ', arguments.Prepend(fileName).Select(a => a.Contains(' ') ? $"\"{a}\"" : a)) + "'";
}
