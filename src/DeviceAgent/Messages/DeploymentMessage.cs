namespace DeviceAgent.Messages;

/// <summary>
/// A deployment message (API.md "Deployment messages"): instance <see cref="NodeServiceInstanceId"/>
/// of device <see cref="DeviceId"/> should fetch its plan for <see cref="ContainerVersion"/>. On the
/// local storage queue the body also carries <see cref="MessageId"/>, <see cref="SessionId"/> and,
/// for a message waiting for an update window, <see cref="NotBefore"/>. The agent only wakes on it:
/// the target decides what runs.
/// </summary>
internal sealed record DeploymentMessage(
    string? Type,
    string? CustomerId,
    string? DeviceId,
    string? NodeServiceInstanceId,
    string? NodeServiceId,
    int? ContainerVersion,
    string? Arch,
    string? PlanUrl,
    string? MessageId,
    string? SessionId,
    DateTimeOffset? NotBefore);
