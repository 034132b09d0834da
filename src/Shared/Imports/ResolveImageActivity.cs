using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Fleet;
using Pipeline.Oci;
using Pipeline.Registry;
using Pipeline.Secrets;
using Pipeline.Snapshots;

namespace Pipeline.Imports;

public sealed record ResolveImageInput(string ImportId, string CustomerId, ImportSource Source, string? NodeServiceId = null);

/// <summary>One architecture resolved: the manifest, config and layers to snapshot.</summary>
public sealed record ResolvedArch(string Arch, string ImageReference, Descriptor Manifest, Descriptor Config, IReadOnlyList<Descriptor> Layers)
{
    /// <summary>What the user should know but that did not stop the import (e.g. an armhf image without variant).</summary>
    public IReadOnlyList<string>? Warnings { get; init; }

    /// <summary>
    /// True when the node service's latest version already holds this very manifest: its config
    /// and layers are stored and this customer proved access to them, so nothing needs copying.
    /// </summary>
    public bool Stored { get; init; }
}

/// <summary>
/// Resolves one architecture of an import: authenticate to the source registry and resolve the
/// manifest (index → manifest → config, architecture checked), then record the blobs it needs so
/// progress shows totals from the start. When the node service's latest version already holds the
/// same manifest, says so (<see cref="ResolvedArch.Stored"/>): a re-import of an unchanged image
/// is decided from the manifests alone, without a request per blob. Idempotent.
/// </summary>
public sealed partial class ImageResolver(
    IRegistryClient registry,
    RegistryCredentialStore credentials,
    ImportStore imports,
    NodeServiceStore services,
    SnapshotRecordStore versions,
    ILogger<ImageResolver> logger)
{
    public async Task<ResolvedArch> ResolveAsync(ResolveImageInput input, CancellationToken ct)
    {
        // The status write and the catalog reads run while the registry answers.
        var running = imports.MarkRunningAsync(input.ImportId, ct);
        var latest = LatestManifestAsync(input, ct);
        var reference = ImageReference.Parse(input.Source.ImageReference);
        var scope = new PullScope(input.CustomerId, await credentials.GetAsync(input.Source.CredentialRef, ct).ConfigureAwait(false));
        var image = await registry.ResolveAsync(reference, input.Source.Arch, scope, ct).ConfigureAwait(false);
        bool stored = await latest.ConfigureAwait(false) == image.Manifest.Digest;
        await running.ConfigureAwait(false);
        await imports.RecordBlobsAsync(input.ImportId, image.Layers.Prepend(image.Config), stored, ct).ConfigureAwait(false);
        LogResolved(logger, input.ImportId, input.Source.Arch, image.Manifest.Digest.ToString(), image.Layers.Count);
        return new ResolvedArch(input.Source.Arch, reference.ToString(), image.Manifest, image.Config, image.Layers)
        {
            Warnings = image.Warnings.Count > 0 ? image.Warnings : null,
            Stored = stored,
        };
    }

    /// <summary>The manifest digest of this architecture in the node service's latest version, if any.</summary>
    private async Task<Digest?> LatestManifestAsync(ResolveImageInput input, CancellationToken ct)
    {
        if (input.NodeServiceId is null)
        {
            return null;
        }
        var (service, _) = await services.GetAsync(input.CustomerId, input.NodeServiceId, ct).ConfigureAwait(false);
        if (service?.ContainerVersion is not (> 0 and var latest) || await versions.GetAsync(input.NodeServiceId, latest, ct).ConfigureAwait(false) is not { } version)
        {
            return null;
        }
        return version.Architectures.FirstOrDefault(a => a.Arch == input.Source.Arch)?.Manifest.Digest;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {ImportId}: {Arch} resolved to {ManifestDigest} with {LayerCount} layers")]
    private static partial void LogResolved(ILogger logger, string importId, string arch, string manifestDigest, int layerCount);
}

/// <summary>
/// One architecture resolved as its own activity. Imports now resolve inside
/// <see cref="BeginImportActivity"/>; this stays registered for orchestrations started by an
/// earlier build, whose history still calls it.
/// </summary>
public sealed class ResolveImageActivity(ImageResolver resolver) : TaskActivity<ResolveImageInput, ResolvedArch>
{
    public override Task<ResolvedArch> RunAsync(TaskActivityContext context, ResolveImageInput input) =>
        resolver.ResolveAsync(input, CancellationToken.None);
}
