using System.Text.Json.Serialization;
using DeviceAgent.Api;
using DeviceAgent.Messages;
using DeviceAgent.Rounds;
using DeviceAgent.Store;

namespace DeviceAgent;

/// <summary>
/// Every JSON shape the agent reads or writes, source-generated (no reflection, trims well on a
/// device). The contract is snake_case throughout, so is everything the agent writes to disk.
/// Unknown fields are ignored: the server may add fields without breaking deployed agents.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true)]
[JsonSerializable(typeof(TargetResponse))]
[JsonSerializable(typeof(PlanRequest))]
[JsonSerializable(typeof(PlanResponse))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(PlanNetwork))]
[JsonSerializable(typeof(DeploymentMessage))]
[JsonSerializable(typeof(VersionManifest))]
[JsonSerializable(typeof(RoundResult))]
[JsonSerializable(typeof(LayerInfo))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
