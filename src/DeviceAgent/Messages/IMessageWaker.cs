namespace DeviceAgent.Messages;

/// <summary>A receiver of deployment messages for this device that wakes the run loop until cancelled.</summary>
internal interface IMessageWaker : IAsyncDisposable
{
    Task RunAsync(WakeSignal signal, CancellationToken cancellationToken);
}
