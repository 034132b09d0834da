using System.Text.Json.Nodes;

namespace Pipeline.Tests.Infra;

/// <summary>One template: the root, or a module's, with the deployment resource that carries it.</summary>
public sealed record ArmScope(JsonObject Template, JsonObject? Deployment, ArmScope? Parent)
{
    // Templates with symbolic names (languageVersion 2.0) hold resources in an object.
    public IEnumerable<JsonObject> Resources => Template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject byName => byName.Select(p => p.Value).OfType<JsonObject>(),
        _ => [],
    };

    public IEnumerable<JsonNode> Outputs =>
        (Template["outputs"] as JsonObject)?.Select(o => o.Value).OfType<JsonNode>() ?? [];
}

public sealed record ArmResource(JsonObject Json, ArmScope Scope);
