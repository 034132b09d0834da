using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Pipeline.Fleet;
using Pipeline.Secrets;
using Pipeline.Snapshots;

namespace Pipeline.Imports;

/// <summary>
/// Starts imports and reads them back: the part of the API (GraphQL, webhooks) that touches
/// the orchestration. Returns at once; the orchestration does the work.
/// </summary>
public sealed class ImportService(ImportStore imports, SnapshotRecordStore versions, RegistryCredentialStore credentials)
{
    public async Task<ImportView> StartAsync(string customerId, NodeServiceSpec spec, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        string nodeServiceId = Ids.NodeServiceId(customerId, spec.Name);
        // Passwords go to the secret store here and never further: the orchestration gets a name.
        var sources = new List<ImportSource>();
        foreach (var s in spec.Sources)
        {
            string? reference = s.RegistryUser is { } user && s.RegistryPassword is { } password
                ? await credentials.PutAsync(nodeServiceId, s.Arch, user, password, cancellationToken).ConfigureAwait(false)
                : null;
            sources.Add(new ImportSource(s.Arch, s.ImageReference, reference));
        }
        return await ScheduleAsync(new ImportRequest(Ids.NewImportId(), customerId, nodeServiceId, spec.Name, sources, spec.Settings, spec.Network, spec.Policy), durable, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Imports a node service again as its latest version was imported: the same image references
    /// (a tag now resolves to whatever was pushed), settings and stored credentials, networking
    /// unchanged. What a registry's push webhook starts.
    /// </summary>
    public async Task<ImportView> ReimportAsync(string importId, NodeService service, SnapshotRecord latest, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var sources = new List<ImportSource>();
        foreach (var arch in latest.Architectures)
        {
            sources.Add(new ImportSource(arch.Arch, arch.ImageReference, await credentials.FindAsync(service.NodeServiceId, arch.Arch, cancellationToken).ConfigureAwait(false)));
        }
        return await ScheduleAsync(new ImportRequest(importId, service.CustomerId, service.NodeServiceId, service.Name, sources, latest.Settings, null), durable, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ImportView> ScheduleAsync(ImportRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        await imports.CreateAsync(request.ImportId, request.CustomerId, request.NodeServiceId, request.Name, cancellationToken).ConfigureAwait(false);
        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(
                nameof(ImportOrchestrator), request, new StartOrchestrationOptions(request.ImportId), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await imports.FailAsync(request.ImportId, ErrorCodes.Internal, "The import could not be scheduled; try again.", CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return (await imports.GetAsync(request.ImportId, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>How long an import's records may stay unchanged before a read asks its orchestration whether it still runs.</summary>
    public static readonly TimeSpan LivenessQuietPeriod = TimeSpan.FromSeconds(10);

    /// <summary>The import with its committed version; an orchestration that died unrecorded shows as failed (within <see cref="LivenessQuietPeriod"/> of its last record).</summary>
    public async Task<(ImportView View, SnapshotRecord? Version)?> GetAsync(string importId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var view = await imports.GetAsync(importId, cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return null;
        }
        // An import whose records changed a moment ago is alive: the orchestration is asked only
        // about one that has been quiet (waiting for a lock, or dead unrecorded). A client polling
        // a running import then costs one table query per poll rather than a query and a call into
        // the durable backend.
        if (!ImportStatus.IsTerminal(view.Status) && !(DateTimeOffset.UtcNow - view.LastChange < LivenessQuietPeriod))
        {
            var instance = await durable.GetInstanceAsync(importId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (instance?.RuntimeStatus is OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated)
            {
                view = view with { Status = ImportStatus.Failed, ErrorCode = ErrorCodes.Internal, ErrorMessage = "The import stopped unexpectedly; try again." };
            }
        }
        var version = view.ContainerVersion is int v ? await versions.GetAsync(view.NodeServiceId, v, cancellationToken).ConfigureAwait(false) : null;
        return (view, version);
    }
}
