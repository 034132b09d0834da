using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Pipeline.Snapshots;

namespace Pipeline.Imports;

/// <summary>
/// Starts imports and reads them back: the part of the API (GraphQL, webhooks) that touches
/// the orchestration. Returns at once; the orchestration does the work.
/// </summary>
public sealed class ImportService(ImportStore imports, SnapshotRecordStore versions)
{
    public async Task<ImportView> StartAsync(string customerId, NodeServiceSpec spec, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (spec.Sources.Any(s => s.RegistryUser is not null))
        {
            throw new PipelineException(ErrorCodes.BadInput, "node_service_input.image_sources.authn: registry credentials are not accepted yet; import from an anonymous registry.");
        }
        string nodeServiceId = Ids.NodeServiceId(customerId, spec.Name);
        string importId = Ids.NewImportId();
        await imports.CreateAsync(importId, customerId, nodeServiceId, spec.Name, cancellationToken).ConfigureAwait(false);
        var request = new ImportRequest(
            importId,
            customerId,
            nodeServiceId,
            spec.Name,
            spec.Sources.Select(s => new ImportSource(s.Arch, s.ImageReference, CredentialRef: null)).ToList());
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
