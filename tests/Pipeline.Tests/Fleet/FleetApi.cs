using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Fleet;

/// <summary>The fleet's GraphQL calls, written as a client writes them.</summary>
public static class FleetApi
{
    public const string InstanceFields =
        "node_service_instance_id node_service_id device_id arch version_target_selector target_version " +
        "lan { interface_address dhcp_range_start dhcp_range_end subnet } config_map";

    public static Task<GraphQLAnswer> RegisterDeviceAsync(this ApiClient api, string key, string customerId, string deviceId, string arch = "amd64") =>
        api.QueryAsync(key,
            "mutation($c: ID!, $d: ID!, $a: String!) { DM_register_device(customer_id: $c, device_id: $d, arch: $a) { device_id arch device_key } }",
            new { c = customerId, d = deviceId, a = arch });

    /// <summary>Registers a device and returns its key, asserting success.</summary>
    public static async Task<string> RegisterDeviceOkAsync(this ApiClient api, string key, string customerId, string deviceId, string arch = "amd64") =>
        (await api.RegisterDeviceAsync(key, customerId, deviceId, arch)).Ok().GetProperty("DM_register_device").GetProperty("device_key").GetString()!;

    public static Task<GraphQLAnswer> CreateDeviceKeyAsync(this ApiClient api, string key, string customerId, string deviceId) =>
        api.QueryAsync(key, "mutation($c: ID!, $d: ID!) { DM_create_device_key(customer_id: $c, device_id: $d) }", new { c = customerId, d = deviceId });

    public static Task<GraphQLAnswer> AddInstanceAsync(this ApiClient api, string key, string nodeServiceId, string deviceId, JsonNode? configMap = null) =>
        api.QueryAsync(key,
            "mutation($s: ID!, $d: ID!, $m: JSON) { DM_add_node_service_instance(node_service_id: $s, device_id: $d, config_map: $m) { " + InstanceFields + " } }",
            new JsonObject { ["s"] = nodeServiceId, ["d"] = deviceId, ["m"] = configMap });

    /// <summary>Adds an instance and returns it, asserting success.</summary>
    public static async Task<JsonElement> AddInstanceOkAsync(this ApiClient api, string key, string nodeServiceId, string deviceId, JsonNode? configMap = null) =>
        (await api.AddInstanceAsync(key, nodeServiceId, deviceId, configMap)).Ok().GetProperty("DM_add_node_service_instance");

    public static Task<GraphQLAnswer> RemoveInstanceAsync(this ApiClient api, string key, string instanceId) =>
        api.QueryAsync(key, "mutation($i: ID!) { DM_remove_node_service_instance(node_service_instance_id: $i) }", new { i = instanceId });

    public static Task<GraphQLAnswer> GetInstancesAsync(this ApiClient api, string key, string nodeServiceId, int? take = null, int? skip = null) =>
        api.QueryAsync(key,
            "query($s: ID!, $t: Int, $k: Int) { DM_get_node_service_instances(node_service_id: $s, take: $t, skip: $k) { total instances { " + InstanceFields + " } } }",
            new { s = nodeServiceId, t = take, k = skip });

    /// <summary>Every instance of a node service by id, asserting success.</summary>
    public static async Task<Dictionary<string, JsonElement>> GetInstancesOkAsync(this ApiClient api, string key, string nodeServiceId) =>
        (await api.GetInstancesAsync(key, nodeServiceId, take: 500)).Ok().GetProperty("DM_get_node_service_instances").GetProperty("instances")
            .EnumerateArray().ToDictionary(i => i.GetProperty("node_service_instance_id").GetString()!);

    /// <summary>Sets the selector; <paramref name="omitSelector"/> leaves the argument out, <paramref name="value"/> null sends <c>{value: null}</c>.</summary>
    public static Task<GraphQLAnswer> SetRolloutAsync(this ApiClient api, string key, IEnumerable<string> instanceIds, string? value, bool omitSelector = false) =>
        api.QueryAsync(key,
            omitSelector
                ? "mutation($i: [ID!]!) { DM_update_node_service_instance_rollout_config(node_service_instance_ids: $i) }"
                : "mutation($i: [ID!]!, $v: VersionTargetSelectorInput) { DM_update_node_service_instance_rollout_config(node_service_instance_ids: $i, version_target_selector: $v) }",
            omitSelector
                ? new JsonObject { ["i"] = Ids(instanceIds) }
                : new JsonObject { ["i"] = Ids(instanceIds), ["v"] = new JsonObject { ["value"] = value } });

    private static JsonArray Ids(IEnumerable<string> ids) => new(ids.Select(i => (JsonNode)JsonValue.Create(i)!).ToArray());

    public static Task<GraphQLAnswer> SetUpdateWindowAsync(this ApiClient api, string key, string deviceId, string? start, string? end = null, string? timezone = null) =>
        api.QueryAsync(key,
            "mutation($d: ID!, $t: TimeSpanInput) { DM_set_device_update_window(device_id: $d, time_span: $t) }",
            new JsonObject
            {
                ["d"] = deviceId,
                ["t"] = start is null ? null : new JsonObject { ["start"] = start, ["end"] = end, ["timezone"] = timezone },
            });

    public static string Str(this JsonElement e, string property) => e.GetProperty(property).GetString()!;

    public static JsonElement Lan(this JsonElement instance) => instance.GetProperty("lan");
}
