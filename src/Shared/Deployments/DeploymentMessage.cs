using System.Globalization;
using System.Text.Json.Serialization;

namespace Pipeline.Deployments;

/// <summary>
/// A deployment message (API.md "Deployment messages"): one per instance and version, telling a
/// device to fetch its plan. On the local storage queue, which has no message properties, the
/// body also carries <see cref="MessageId"/> and <see cref="SessionId"/> (and, for a message
/// that waits for an update window, when it is due).
/// </summary>
public sealed record DeploymentMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("customer_id")] string CustomerId,
    [property: JsonPropertyName("device_id")] string DeviceId,
    [property: JsonPropertyName("node_service_instance_id")] string NodeServiceInstanceId,
    [property: JsonPropertyName("node_service_id")] string NodeServiceId,
    [property: JsonPropertyName("container_version")] int ContainerVersion,
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("plan_url")] string PlanUrl)
{
    public const string DeployType = "deploy";

    [JsonPropertyName("message_id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MessageId { get; init; }

    [JsonPropertyName("session_id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SessionId { get; init; }

    /// <summary>Queue only: when the message is due, for a consumer that gets it early (the queue's visibility delay is capped).</summary>
    [JsonPropertyName("not_before")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>
    /// <c>{instance_id}:{container_version}</c> for the first message of a version to an
    /// instance; <c>…:{n}</c> (n = 2, 3, …) for each later one, so duplicate detection never
    /// drops a message that means something new while a resend of the same one keeps its id.
    /// </summary>
    public static string IdFor(string instanceId, int version, int sendNumber) =>
        sendNumber <= 1
            ? $"{instanceId}:{version.ToString(CultureInfo.InvariantCulture)}"
            : $"{instanceId}:{version.ToString(CultureInfo.InvariantCulture)}:{sendNumber.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>A message on its way out: its body, its ids, and when it is due (null: now).</summary>
public sealed record OutgoingDeployment(DeploymentMessage Body, string MessageId, string SessionId, DateTimeOffset? ScheduledFor);

/// <summary>
/// Where a scheduled message went, so it can be withdrawn before it is due (a device's window
/// moved): a Service Bus sequence number, or a queue message id and pop receipt. Null for a
/// message sent for now.
/// </summary>
public sealed record ScheduledHandle(long? SequenceNumber, string? QueueMessageId, string? PopReceipt);

[JsonSerializable(typeof(DeploymentMessage))]
internal sealed partial class DeploymentJsonContext : JsonSerializerContext;
