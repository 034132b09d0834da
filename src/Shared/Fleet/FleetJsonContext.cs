using System.Text.Json.Serialization;
using Pipeline.Snapshots;

namespace Pipeline.Fleet;

[JsonSerializable(typeof(NodeServiceNetwork))]
[JsonSerializable(typeof(Rollout.RolloutPolicy))]
internal sealed partial class FleetJsonContext : JsonSerializerContext;
