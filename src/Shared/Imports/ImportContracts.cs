using Pipeline.Fleet;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;
using Pipeline.Oci;

namespace Pipeline.Imports;

// Orchestration inputs and outputs: small records of ids, references and digests. Never a
// credential: a source names a secret by reference only (resolved inside activities).

/// <summary>One image source of an import: the architecture and where its image is.</summary>
public sealed record ImportSource(string Arch, string ImageReference, string? CredentialRef);

/// <summary>
/// Input of <see cref="ImportOrchestrator"/>; its instance id is the import id. <see cref="Network"/>
/// is null when the import named no networking setting (the service keeps what it has).
/// </summary>
public sealed record ImportRequest(
    string ImportId,
    string CustomerId,
    string NodeServiceId,
    string Name,
    IReadOnlyList<ImportSource> Sources,
    ServiceSettings Settings,
    NodeServiceNetwork? Network,
    RolloutPolicy? Policy = null);

/// <summary>Output of <see cref="ImportOrchestrator"/>: the version, or the error the import failed with.</summary>
public sealed record ImportOutcome(int? ContainerVersion, string? ErrorCode, string? ErrorMessage);

/// <summary>A blob to copy and the repository to copy it from.</summary>
public sealed record BlobSource(string Repository, string? CredentialRef, Descriptor Blob);
