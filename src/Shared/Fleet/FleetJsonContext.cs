using System.Text.Json.Serialization;

namespace Pipeline.Fleet;

[JsonSerializable(typeof(NodeServiceNetwork))]
internal sealed partial class FleetJsonContext : JsonSerializerContext;
