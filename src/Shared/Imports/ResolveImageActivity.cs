using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;
using Pipeline.Registry;
using Pipeline.Secrets;

namespace Pipeline.Imports;

public sealed record ResolveImageInput(string ImportId, string CustomerId, ImportSource Source);

/// <summary>One architecture resolved: the manifest, config and layers to snapshot.</summary>
public sealed record ResolvedArch(string Arch, string ImageReference, Descriptor Manifest, Descriptor Config, IReadOnlyList<Descriptor> Layers)
{
    /// <summary>What the user should know but that did not stop the import (e.g. an armhf image without variant).</summary>
    public IReadOnlyList<string>? Warnings { get; init; }
}

/// <summary>
/// Step 1 of an import: authenticate to the source registry and resolve one architecture's
/// manifest (index → manifest → config, architecture checked). Idempotent: reads only.
/// </summary>
public sealed partial class ResolveImageActivity(IRegistryClient registry, RegistryCredentialStore credentials, ImportStore imports, ILogger<ResolveImageActivity> logger)
    : TaskActivity<ResolveImageInput, ResolvedArch>
{
    public override async Task<ResolvedArch> RunAsync(TaskActivityContext context, ResolveImageInput input)
    {
        await imports.MarkRunningAsync(input.ImportId, CancellationToken.None).ConfigureAwait(false);
        var reference = ImageReference.Parse(input.Source.ImageReference);
        var scope = new PullScope(input.CustomerId, await credentials.GetAsync(input.Source.CredentialRef, CancellationToken.None).ConfigureAwait(false));
        var image = await registry.ResolveAsync(reference, input.Source.Arch, scope, CancellationToken.None).ConfigureAwait(false);
        LogResolved(logger, input.ImportId, input.Source.Arch, image.Manifest.Digest.ToString(), image.Layers.Count);
        return new ResolvedArch(input.Source.Arch, reference.ToString(), image.Manifest, image.Config, image.Layers)
        {
            Warnings = image.Warnings.Count > 0 ? image.Warnings : null,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {ImportId}: {Arch} resolved to {ManifestDigest} with {LayerCount} layers")]
    private static partial void LogResolved(ILogger logger, string importId, string arch, string manifestDigest, int layerCount);
}
