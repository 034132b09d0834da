namespace Pipeline.Deployments;

/// <summary>
/// Sends deployment messages: to Service Bus topic <c>deployments</c> in Azure, to the storage
/// queue <c>deployments</c> locally. Sending the same <see cref="OutgoingDeployment.MessageId"/>
/// again must be harmless (Service Bus drops it by duplicate detection; queue consumers by the
/// body's <c>message_id</c>). Failures throw; transient ones are retried inside.
/// </summary>
public interface IDeploymentPublisher
{
    /// <summary>
    /// Sends <paramref name="messages"/>, as few requests as the transport allows. Returns, in
    /// the same order, a handle for each scheduled message (null for one sent for now).
    /// </summary>
    Task<IReadOnlyList<ScheduledHandle?>> PublishAsync(IReadOnlyList<OutgoingDeployment> messages, CancellationToken cancellationToken);

    /// <summary>Withdraws a scheduled message; true when it was withdrawn, false when it was already delivered or gone.</summary>
    Task<bool> CancelAsync(ScheduledHandle handle, CancellationToken cancellationToken);
}
