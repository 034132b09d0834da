using Pipeline.Imports;
using Pipeline.Oci;

namespace Pipeline.Api.GraphQL;

/// <summary>
/// Turns the <c>node_service_input</c> argument into a <see cref="NodeServiceSpec"/>, refusing bad
/// input with <c>BAD_INPUT</c> and the path of the field at fault, before anything is stored or
/// any registry is contacted.
/// </summary>
public static class NodeServiceInputParser
{
    public const int MaxNameLength = 128;

    public static NodeServiceSpec Parse(IDictionary<string, object?> input)
    {
        string name = (input.TryGetValue("name", out var n) ? n as string : null)?.Trim() ?? "";
        if (name.Length == 0 || name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            throw Bad("node_service_input.name", $"must be 1-{MaxNameLength} printable characters");
        }

        var sources = new List<ImageSourceSpec>();
        var list = input.TryGetValue("image_sources", out var s) ? s as IEnumerable<object?> : null;
        int i = 0;
        foreach (var item in list ?? [])
        {
            string path = $"node_service_input.image_sources[{i++}]";
            if (item is not IDictionary<string, object?> source)
            {
                throw Bad(path, "must be an object");
            }
            string arch = source.TryGetValue("arch", out var a) ? a as string ?? "" : "";
            if (!Architectures.IsKnown(arch))
            {
                throw Bad(path + ".arch", $"'{arch}' is not one of amd64, armhf, arm64");
            }
            if (sources.Any(x => x.Arch == arch))
            {
                throw Bad(path + ".arch", $"'{arch}' is given twice; each arch at most once");
            }
            string reference = source.TryGetValue("image_reference", out var r) ? r as string ?? "" : "";
            try
            {
                ImageReference.Parse(reference);
            }
            catch (PipelineException e)
            {
                throw Bad(path + ".image_reference", e.Detail);
            }
            string? user = null, password = null;
            if (source.TryGetValue("authn", out var au) && au is IDictionary<string, object?> authn)
            {
                user = authn.TryGetValue("registry_user", out var u) ? u as string : null;
                password = authn.TryGetValue("registry_pw", out var p) ? p as string : null;
                if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password))
                {
                    throw Bad(path + ".authn", "needs both registry_user and registry_pw");
                }
            }
            sources.Add(new ImageSourceSpec(arch, reference, user, password));
        }
        if (sources.Count == 0)
        {
            throw Bad("node_service_input.image_sources", "needs at least one image source");
        }
        return new NodeServiceSpec(name, sources);
    }

    private static PipelineException Bad(string field, string why) => new(ErrorCodes.BadInput, $"{field}: {why}.");
}
