using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
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
        string importId = Ids.NewImportId();
        // Passwords go to the secret store here and never further: the orchestration gets a name.
        var sources = new List<ImportSource>();
        foreach (var s in spec.Sources)
        {
            string? reference = s.RegistryUser is { } user && s.RegistryPassword is { } password
                ? await credentials.PutAsync(nodeServiceId, s.Arch, user, password, cancellationToken).ConfigureAwait(false)
                : null;
            sources.Add(new ImportSource(s.Arch, s.ImageReference, reference));
        }
        await imports.CreateAsync(importId, customerId, nodeServiceId, spec.Name, cancellationToken).ConfigureAwait(false);
        var request = new ImportRequest(importId, customerId, nodeServiceId, spec.Name, sources, spec.Settings, spec.Network);
        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(
                nameof(ImportOrchestrator), request, new StartOrchestrationOptions(importId), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await imports.FailAsync(importId, ErrorCodes.Internal, "The import could not be scheduled; try again.", CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return (await imports.GetAsync(importId, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>The import with its committed version; an orchestration that died unrecorded shows as failed.</summary>
    public async Task<(ImportView View, SnapshotRecord? Version)?> GetAsync(string importId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var view = await imports.GetAsync(importId, cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return null;
        }
        if (!ImportStatus.IsTerminal(view.Status))
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
