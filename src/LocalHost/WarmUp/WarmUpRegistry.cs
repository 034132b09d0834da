using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Pipeline.Oci;

namespace Pipeline.LocalHost.WarmUp;

/// <summary>
/// A registry in memory for the start-up warm-up: one single-arch image (an OCI index, its amd64
/// manifest, a config and one layer of random bytes) at <see cref="Reference"/>, served to a
/// registry client through its <see cref="IHttpClientFactory"/>, so the client's code (requests,
/// retries, manifest and config checks, the verified, resumable blob stream) runs once with no
/// network. Nothing else can reach it.
/// </summary>
public sealed class WarmUpRegistry : HttpMessageHandler, IHttpClientFactory
{
    /// <summary>Where the image is (a name under <c>.invalid</c>, which never resolves).</summary>
    public const string ReferenceText = "warm-up.invalid/warm-up:latest";

    /// <summary><see cref="ReferenceText"/>, parsed.</summary>
    public static readonly ImageReference Reference = ImageReference.Parse(ReferenceText);

    private readonly Dictionary<string, (byte[] Body, string MediaType, string Digest)> _paths = new(StringComparer.Ordinal);

    public WarmUpRegistry(int layerBytes)
    {
        byte[] layer = RandomNumberGenerator.GetBytes(layerBytes);
        var layerDigest = Digest.Compute(layer);
        byte[] config = Encoding.UTF8.GetBytes(
            $$$"""{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["{{{layerDigest}}}"]}}""");
        var configDigest = Digest.Compute(config);
        byte[] manifest = Encoding.UTF8.GetBytes(
            $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","config":{"mediaType":"{{{MediaTypes.OciConfig}}}","digest":"{{{configDigest}}}","size":{{{config.Length}}}},"layers":[{"mediaType":"{{{MediaTypes.OciLayerGzip}}}","digest":"{{{layerDigest}}}","size":{{{layer.Length}}}}]}""");
        var manifestDigest = Digest.Compute(manifest);
        byte[] index = Encoding.UTF8.GetBytes(
            $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciIndex}}}","manifests":[{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{manifestDigest}}}","size":{{{manifest.Length}}},"platform":{"architecture":"amd64","os":"linux"}}]}""");
        string repository = $"/v2/{Reference.Repository}";
        _paths[$"{repository}/manifests/{Reference.ManifestReference}"] = (index, MediaTypes.OciIndex, Digest.Compute(index).ToString());
        _paths[$"{repository}/manifests/{manifestDigest}"] = (manifest, MediaTypes.OciManifest, manifestDigest.ToString());
        _paths[$"{repository}/blobs/{configDigest}"] = (config, "application/octet-stream", configDigest.ToString());
        _paths[$"{repository}/blobs/{layerDigest}"] = (layer, "application/octet-stream", layerDigest.ToString());
    }

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is not { } uri || !_paths.TryGetValue(uri.AbsolutePath, out var found))
        {
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound) { RequestMessage = request });
        }
        var content = new ByteArrayContent(found.Body);
        content.Headers.ContentType = new MediaTypeHeaderValue(found.MediaType);
        content.Headers.ContentLength = found.Body.Length;
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
        response.Headers.TryAddWithoutValidation("Docker-Content-Digest", found.Digest);
        return Task.FromResult(response);
    }
}
