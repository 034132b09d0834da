using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// Settings of the registry client, bound from configuration section <c>Pipeline:Registry</c>
/// (API.md, "Configuration": <c>Pipeline__Registry__InsecureHosts</c>).
/// </summary>
public sealed class RegistryOptions
{
    public const string SectionName = "Pipeline:Registry";

    /// <summary>
    /// Comma-separated <c>host:port</c> list (as written in image references) that is reached over
    /// plain HTTP. Every other registry is reached over HTTPS.
    /// </summary>
    public string InsecureHosts { get; set; } = "";

    /// <summary>How many times a connection failure, timeout or 5xx is retried at once before <c>REGISTRY_UNREACHABLE</c>.</summary>
    public int TransientRetryCount { get; set; } = 2;

    /// <summary>Pause before the first quick retry; it grows linearly with each attempt.</summary>
    public TimeSpan TransientRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Time allowed until a registry's response headers arrive (bodies are streamed separately).</summary>
    public TimeSpan ResponseHeadersTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The longest <c>Retry-After</c> (of a 429 or 503) the client waits for inside one request
    /// (TEST-MATRIX row 13). A registry asking for a longer pause fails the request at once with
    /// <c>REGISTRY_UNREACHABLE</c> naming the wait, so the import's durable retry policy, not a
    /// blocked activity, waits it out. Default 60 s.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many times in a row a blob download that broke off may be resumed (or restarted) without
    /// any byte of progress before <c>REGISTRY_UNREACHABLE</c> (TEST-MATRIX row 12). Progress resets the count.
    /// </summary>
    public int BlobResumeAttempts { get; set; } = 5;

    /// <summary>Pause before resuming a broken blob download; it grows linearly with the attempts without progress.</summary>
    public TimeSpan BlobResumeDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A blob body that delivers no byte for this long is treated as a dropped connection and resumed.</summary>
    public TimeSpan BlobReadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether <paramref name="host"/> (<c>host[:port]</c>, lower-case) is listed in <see cref="InsecureHosts"/>.</summary>
    public bool IsInsecure(string host)
    {
        foreach (string entry in SplitInsecureHosts())
        {
            if (string.Equals(entry, host, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The scheme to use for <paramref name="host"/>: <c>http</c> only when it is listed as insecure.</summary>
    public string SchemeFor(string host) => IsInsecure(host) ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;

    /// <summary>The base URI of a registry's distribution API.</summary>
    public Uri BaseUri(ImageReference reference) => new($"{SchemeFor(reference.ApiHost)}://{reference.ApiHost}/");

    /// <summary>Entries of <see cref="InsecureHosts"/> that are not a registry host as an image reference would name it.</summary>
    internal IEnumerable<string> InvalidInsecureHosts()
    {
        foreach (string entry in SplitInsecureHosts())
        {
            string? normalised = null;
            try
            {
                // Reuse the reference grammar so that an entry matches exactly what a reference's host parses to.
                var parsed = ImageReference.Parse(entry + "/probe");
                normalised = parsed.Registry;
            }
            catch (PipelineException)
            {
            }
            if (!string.Equals(normalised, entry, StringComparison.OrdinalIgnoreCase))
            {
                yield return entry;
            }
        }
    }

    private string[] SplitInsecureHosts() =>
        (InsecureHosts ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
