using System.Text.RegularExpressions;

namespace Pipeline.Oci;

/// <summary>
/// An image reference <c>[host[:port]/]path[:tag][@digest]</c>, normalised the way the Docker CLI
/// does it: no host means <c>docker.io</c>, and a one-component Docker Hub path gains
/// <c>library/</c>. (https://github.com/distribution/reference, grammar in reference.go)
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, Digest? Digest)
{
    public const string DockerHub = "docker.io";
    private const string DockerHubApiHost = "registry-1.docker.io";
    private const string LegacyDockerHub = "index.docker.io";

    /// <summary>The host (and port) the distribution API is served on.</summary>
    public string ApiHost => Registry == DockerHub ? DockerHubApiHost : Registry;

    /// <summary>The tag or digest to ask the manifest endpoint for (a digest wins over a tag).</summary>
    public string ManifestReference => Digest is { } d ? d.ToString() : Tag ?? "latest";

    public static ImageReference Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 512 || text.Any(char.IsWhiteSpace))
        {
            throw Bad(text, "it is empty, too long or contains white space");
        }

        string rest = text;
        Digest? digest = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(rest[(at + 1)..], out var d))
            {
                throw Bad(text, "the part after '@' is not sha256: followed by 64 lower-case hex characters");
            }
            digest = d;
            rest = rest[..at];
        }

        string registry = DockerHub;
        int slash = rest.IndexOf('/');
        if (slash > 0)
        {
            string first = rest[..slash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost" || first.StartsWith('['))
            {
                registry = ParseHost(first) ?? throw Bad(text, $"'{first}' is not a valid registry host");
                rest = rest[(slash + 1)..];
                if (registry == LegacyDockerHub)
                {
                    // The Docker CLI's old name for Docker Hub: the same registry, so the same cache keys and webhook matches.
                    registry = DockerHub;
                }
            }
        }

        string? tag = null;
        int colon = rest.LastIndexOf(':');
        if (colon >= 0)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                throw Bad(text, $"'{tag}' is not a valid tag");
            }
        }

        if (rest.Length == 0 || rest.Length > 255 || !rest.Split('/').All(c => PathComponentPattern().IsMatch(c)))
        {
            throw Bad(text, "the repository must be lower-case path components separated by '/'");
        }
        if (registry == DockerHub && !rest.Contains('/'))
        {
            rest = "library/" + rest;
        }
        if (tag is null && digest is null)
        {
            tag = "latest";
        }
        return new ImageReference(registry, rest, tag, digest);
    }

    /// <summary>The same repository at another tag or digest.</summary>
    public ImageReference WithDigest(Digest digest) => this with { Digest = digest };

    public override string ToString() =>
        $"{Registry}/{Repository}{(Tag is null ? "" : ":" + Tag)}{(Digest is { } d ? "@" + d : "")}";

    private static string? ParseHost(string host)
    {
        string name = host;
        string? port = null;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            if (close < 0 || !System.Net.IPAddress.TryParse(host[1..close], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return null;
            }
            name = host[..(close + 1)];
            string after = host[(close + 1)..];
            if (after.Length > 0)
            {
                if (!after.StartsWith(':'))
                {
                    return null;
                }
                port = after[1..];
            }
        }
        else
        {
            int c = host.IndexOf(':');
            if (c >= 0)
            {
                name = host[..c];
                port = host[(c + 1)..];
            }
            if (!HostPattern().IsMatch(name))
            {
                return null;
            }
        }
        if (port is not null && (!ushort.TryParse(port, out ushort p) || p == 0 || port.StartsWith('0')))
        {
            return null;
        }
        // Host names are case-insensitive; keep the canonical lower-case form for matching and cache keys.
        return (port is null ? name : $"{name}:{port}").ToLowerInvariant();
    }

    private static PipelineException Bad(string? text, string why) =>
        new(ErrorCodes.BadInput, $"Invalid image reference '{(text is { Length: > 100 } ? text[..100] + "…" : text)}': {why}.");

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex PathComponentPattern();

    [GeneratedRegex(@"^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*$")]
    private static partial Regex HostPattern();
}
