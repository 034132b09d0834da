using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// A long-running service process started by a fixture (Azurite, the registry). Its stdout and
/// stderr go to a log file. It is stopped by its own PID: SIGTERM, up to <see cref="DefaultGrace"/>
/// to exit, then SIGKILL. Processes still running when the test host exits are killed then.
/// </summary>
public sealed class ServiceProcess : IDisposable, IAsyncDisposable
{
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(5);

    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int Eperm = 1;

    private static readonly ConcurrentDictionary<int, ServiceProcess> Running = new();

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private readonly SemaphoreSlim _stopGate = new(1, 1);
    private bool _stopped;
    private bool _ownsLog;
    private int? _exitCode;

    static ServiceProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var service in Running.Values)
            {
                service.KillNow();
            }
        };
    }

    private ServiceProcess(Process process, StreamWriter log, string logPath, string name)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
        Name = name;
        Pid = process.Id;
    }

    /// <summary>The PID of the started process itself (no shell in between).</summary>
    public int Pid { get; }

    /// <summary>A short name for messages (the file name that was started).</summary>
    public string Name { get; }

    /// <summary>Where stdout and stderr are written, one line at a time.</summary>
    public string LogPath { get; }

    public bool HasExited => _stopped || _process.HasExited;

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode => _stopped ? _exitCode : _process.HasExited ? _process.ExitCode : null;

    /// <summary>
    /// Starts <paramref name="fileName"/> directly (no shell), so <see cref="Pid"/> is the service's own.
    /// </summary>
    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    /// <param name="logPath">Log file; when null, a new file in the temp folder, deleted on stop.</param>
    public static ServiceProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? logPath = null)
    {
        var name = Path.GetFileName(fileName);
        bool ownsLog = logPath is null;
        logPath ??= Path.Combine(Path.GetTempPath(), $"pipeline-tests-{name}-{Guid.NewGuid():N}.log");
        var psi = ProcessStart.Info(fileName, arguments, workingDirectory, environment);

        var stream = new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        var log = new StreamWriter(stream) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException($"Could not start {fileName}.");
            }
        }
        catch (Win32Exception e)
        {
            log.Dispose();
            process.Dispose();
            throw new InvalidOperationException(
                $"Could not start '{fileName}': {e.Message}. Is it installed? Run scripts/setup.sh.", e);
        }

        var service = new ServiceProcess(process, log, logPath, name) { _ownsLog = ownsLog };
        process.OutputDataReceived += (_, e) => service.WriteLog(e.Data);
        process.ErrorDataReceived += (_, e) => service.WriteLog(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        Running[service.Pid] = service;
        return service;
    }

    /// <summary>The end of the log (at most <paramref name="maxChars"/> characters), for failure messages.</summary>
    public string ReadLog(int maxChars = 8000)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            return text.Length <= maxChars ? text : "…" + text[^maxChars..];
        }
        catch (IOException e)
        {
            return $"(log {LogPath} unreadable: {e.Message})";
        }
    }

    /// <summary>
    /// Starts a service until it answers, at most <paramref name="attempts"/> times: a port may be
    /// taken between choosing it and the service binding it, so each attempt chooses anew inside
    /// <paramref name="start"/>. A service that does not become ready is stopped before the next try.
    /// </summary>
    /// <param name="notReady">The failure message, given the last attempt's log.</param>
    public static async Task<ServiceProcess> StartUntilReadyAsync(
        Func<Task<ServiceProcess>> start, Func<ServiceProcess, Task<bool>> ready, Func<string, string> notReady, int attempts = 3)
    {
        for (int attempt = 1; ; attempt++)
        {
            var process = await start().ConfigureAwait(false);
            if (await ready(process).ConfigureAwait(false))
            {
                return process;
            }
            var log = process.ReadLog();
            await process.DisposeAsync().ConfigureAwait(false);
            if (attempt == attempts)
            {
                throw new InvalidOperationException(notReady(log));
            }
        }
    }

    /// <summary>SIGKILL at once, as a crash would: no shutdown handler runs. Then cleans up like <see cref="StopAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            Signal(SigKill);
        }
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    /// <summary>Sends SIGTERM to <see cref="Pid"/>, waits up to <paramref name="grace"/>, then SIGKILL.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        await _stopGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return;
            }
            if (!_process.HasExited)
            {
                Signal(SigTerm);
                if (!await WaitForExitAsync(grace ?? DefaultGrace).ConfigureAwait(false))
                {
                    Signal(SigKill);
                    if (!await WaitForExitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
                    {
                        throw new InvalidOperationException($"{Name} (PID {Pid}) did not exit after SIGKILL.");
                    }
                }
            }
            else
            {
                // Let the output handlers drain the pipes before the log is closed.
                await WaitForExitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            _exitCode = _process.ExitCode;
            _stopped = true;
            Running.TryRemove(Pid, out _);
            lock (_logLock)
            {
                _log.Dispose();
            }
            _process.Dispose();
            if (_ownsLog)
            {
                File.Delete(LogPath);
            }
        }
        finally
        {
            _stopGate.Release();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    /// <summary>True while a process with this PID exists and is not a zombie.</summary>
    public static bool IsRunning(int pid)
    {
        if (kill(pid, 0) != 0 && Marshal.GetLastPInvokeError() != Eperm)
        {
            return false;
        }
        try
        {
            // /proc/PID/stat: "pid (comm) S …"; state Z is an exited process not yet reaped.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var afterName = stat.LastIndexOf(')');
            return afterName < 0 || afterName + 2 >= stat.Length || stat[afterName + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    public override string ToString() => $"{Name} (PID {Pid})";

    private async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return _process.HasExited;
        }
    }

    private void Signal(int signal)
    {
        if (_process.HasExited)
        {
            return;
        }
        if (kill(Pid, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (!_process.HasExited)
            {
                throw new InvalidOperationException($"kill({Pid}, {signal}) failed with errno {errno}.");
            }
        }
    }

    private void KillNow()
    {
        try
        {
            if (!_stopped && !_process.HasExited)
            {
                kill(Pid, SigKill);
            }
        }
        catch (InvalidOperationException)
        {
            // Already disposed.
        }
    }

    private void WriteLog(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_logLock)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // A line that arrives after the stop is dropped.
            }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
