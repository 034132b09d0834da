using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Fleet;
using Pipeline.Fleet.Networking;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;
using Pipeline.Imports;
using Pipeline.Oci;

namespace Pipeline.Api.GraphQL;

/// <summary>
/// Turns the <c>node_service_input</c> argument into a <see cref="NodeServiceSpec"/>, refusing bad
/// input with <c>BAD_INPUT</c> and the path of the field at fault, before anything is stored or
/// any registry is contacted.
/// </summary>
public static partial class NodeServiceInputParser
{
    public const int MaxNameLength = 128;
    public const int MaxEnvVariables = 256;
    public const int MaxEnvBytes = 64 * 1024;
    public const int MaxMemoryLimitMb = 1024 * 1024;
    public const double MaxCpuLimit = 256;
    private const string Root = "node_service_input";

    public static NodeServiceSpec Parse(IDictionary<string, object?> input)
    {
        string name = (Get(input, "name") as string)?.Trim() ?? "";
        if (name.Length == 0 || name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            throw Bad($"{Root}.name", $"must be 1-{MaxNameLength} printable characters");
        }
        var policy = Get(input, "rollout_policy") is IDictionary<string, object?> rollout ? RolloutPolicy.Parse(rollout, field: $"{Root}.rollout_policy") : null;
        return new NodeServiceSpec(name, ParseSources(Get(input, "image_sources")), ParseSettings(input), ParseNetwork(input), policy);
    }

    private static List<ImageSourceSpec> ParseSources(object? value)
    {
        var sources = new List<ImageSourceSpec>();
        int i = 0;
        foreach (var item in value as IEnumerable<object?> ?? [])
        {
            string path = $"{Root}.image_sources[{i++}]";
            if (item is not IDictionary<string, object?> source)
            {
                throw Bad(path, "must be an object");
            }
            string arch = Get(source, "arch") as string ?? "";
            if (!Architectures.IsKnown(arch))
            {
                throw Bad(path + ".arch", $"'{arch}' is not one of amd64, armhf, arm64");
            }
            if (sources.Any(x => x.Arch == arch))
            {
                throw Bad(path + ".arch", $"'{arch}' is given twice; each arch at most once");
            }
            string reference = Get(source, "image_reference") as string ?? "";
            try
            {
                ImageReference.Parse(reference);
            }
            catch (PipelineException e)
            {
                throw Bad(path + ".image_reference", e.Detail);
            }
            string? user = null, password = null;
            if (Get(source, "authn") is IDictionary<string, object?> authn)
            {
                user = Get(authn, "registry_user") as string;
                password = Get(authn, "registry_pw") as string;
                if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password) || user.Length > 256 || password.Length > 16 * 1024)
                {
                    throw Bad(path + ".authn", "needs registry_user (at most 256 characters) and registry_pw (at most 16 KiB)");
                }
            }
            sources.Add(new ImageSourceSpec(arch, reference, user, password));
        }
        if (sources.Count == 0)
        {
            throw Bad($"{Root}.image_sources", "needs at least one image source");
        }
        return sources;
    }

    private static ServiceSettings ParseSettings(IDictionary<string, object?> input)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Get(input, "env"))
        {
            case null:
                break;
            case IDictionary<string, object?> map:
                int bytes = 0;
                foreach (var (key, raw) in map)
                {
                    if (!EnvName().IsMatch(key))
                    {
                        throw Bad($"{Root}.env.{key}", "a variable name is letters, digits and '_', not starting with a digit");
                    }
                    string value = raw switch
                    {
                        string s => s,
                        bool b => b ? "true" : "false",
                        IConvertible n when raw is not null && (raw.GetType().IsPrimitive || raw is decimal) => n.ToString(CultureInfo.InvariantCulture),
                        _ => throw Bad($"{Root}.env.{key}", "a value is a string, number or boolean"),
                    };
                    if (value.Contains('\0'))
                    {
                        throw Bad($"{Root}.env.{key}", "a value cannot contain a NUL character");
                    }
                    bytes += key.Length + value.Length;
                    env[key] = value;
                }
                if (env.Count > MaxEnvVariables || bytes > MaxEnvBytes)
                {
                    throw Bad($"{Root}.env", $"at most {MaxEnvVariables} variables and {MaxEnvBytes / 1024} KiB");
                }
                break;
            default:
                throw Bad($"{Root}.env", "must be an object of variable names to values");
        }

        int? memory = Get(input, "memory_limit_mb") is { } m ? Convert.ToInt32(m, CultureInfo.InvariantCulture) : null;
        if (memory is <= 0 or > MaxMemoryLimitMb)
        {
            throw Bad($"{Root}.memory_limit_mb", $"must be 1-{MaxMemoryLimitMb}");
        }
        double? cpu = Get(input, "cpu_limit") is { } c ? Convert.ToDouble(c, CultureInfo.InvariantCulture) : null;
        if (cpu is not null && (cpu <= 0 || cpu > MaxCpuLimit || double.IsNaN(cpu.Value)))
        {
            throw Bad($"{Root}.cpu_limit", $"must be more than 0 and at most {MaxCpuLimit} cores");
        }
        var devices = new List<string>();
        foreach (var d in Get(input, "device_access") as IEnumerable<object?> ?? [])
        {
            if (d is not string named || !DeviceClasses.Contains(named))
            {
                throw Bad($"{Root}.device_access", $"'{d}' is not a device class; use {string.Join(", ", DeviceClasses.Order(StringComparer.Ordinal))}");
            }
            string device = named.ToLowerInvariant();
            if (!devices.Contains(device))
            {
                devices.Add(device);
            }
        }
        return new ServiceSettings(env, memory, cpu, devices);
    }

    private static NodeServiceNetwork? ParseNetwork(IDictionary<string, object?> input)
    {
        var config = Get(input, "network_config") as IDictionary<string, object?>;
        string? access = Get(input, "access_provided_subnet") as string;
        string? template = Get(input, "dhcp_range_template") as string;
        string? range = Get(input, "dhcp_range") as string;
        if (config is null && access is null && template is null && range is null)
        {
            return null;
        }
        string wan = Mode(config, "wan_configure_network");
        string lan = Mode(config, "lan_configure_network");
        bool masquerade = config is not null && Get(config, "masquerade") is true;
        if (masquerade && (wan == NodeServiceNetwork.Disabled || lan == NodeServiceNetwork.Disabled))
        {
            throw Bad($"{Root}.network_config.masquerade", "needs both wan_configure_network and lan_configure_network other than disabled");
        }

        if (lan != NodeServiceNetwork.Disabled && access is null)
        {
            throw Bad($"{Root}.access_provided_subnet", $"is needed when lan_configure_network is {lan}");
        }
        var network = new NodeServiceNetwork(wan, lan, masquerade, access, template, range);
        // The same rules instances are allocated by: what is accepted here can be allocated later.
        LanPlan.From(network, Root + ".");
        return network;
    }

    private static string Mode(IDictionary<string, object?>? config, string field)
    {
        string mode = (config is null ? null : Get(config, field) as string) ?? NodeServiceNetwork.Disabled;
        return mode is NodeServiceNetwork.Disabled or NodeServiceNetwork.Allocated or NodeServiceNetwork.Dhcp
            ? mode
            : throw Bad($"{Root}.network_config.{field}", $"'{mode}' is not one of disabled, allocated, dhcp");
    }

    private static object? Get(IDictionary<string, object?> map, string key) => map.TryGetValue(key, out var v) ? v : null;

    private static PipelineException Bad(string field, string why) => new(ErrorCodes.BadInput, $"{field}: {why}.");

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvName();

    /// <summary>
    /// The device classes a container may be given (API.md <c>device_access</c>): serial ports,
    /// CAN, GPIO, GPU, NPU and the system management controller; any case, stored lower case.
    /// </summary>
    public static readonly IReadOnlySet<string> DeviceClasses =
        new HashSet<string>(["serial", "can", "gpio", "gpu", "npu", "smc"], StringComparer.OrdinalIgnoreCase);
}
