using System.Runtime.InteropServices;

namespace DeviceAgent.Cli;

/// <summary>
/// SIGTERM (systemd stopping the service) and SIGINT (Ctrl+C) cancel the agent's work instead of
/// killing the process, so <c>run</c> stops between or inside rounds and exits 0, and <c>once</c>
/// says why it stopped. A second signal while stopping is not caught: it ends the process at once.
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;

    public ShutdownSignal()
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    }

    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        _term.Dispose();
        _interrupt.Dispose();
        _stop.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        context.Cancel = true;
        // Off the signal thread: cancellation callbacks run inline and may take a moment.
        _ = Task.Run(_stop.Cancel);
    }
}
