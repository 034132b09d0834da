using GraphQL.Types;
using Pipeline.Imports;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Api.GraphQL.Types;

/// <summary>What <c>DM_get_import</c> and <c>DM_import_node_service</c> return.</summary>
public sealed record ImportResult(ImportView View, SnapshotRecord? Version);

public sealed class ImportGraphType : ObjectGraphType<ImportResult>
{
    public ImportGraphType()
    {
        Name = "Import";
        Field<NonNullGraphType<IdGraphType>>("import_id").Resolve(c => c.Source.View.ImportId);
        Field<NonNullGraphType<IdGraphType>>("node_service_id").Resolve(c => c.Source.View.NodeServiceId);
        Field<NonNullGraphType<StringGraphType>>("status").Resolve(c => c.Source.View.Status);
        Field<IntGraphType>("container_version").Resolve(c => c.Source.View.ContainerVersion);
        Field<ImportProgressGraphType>("progress").Resolve(c => c.Source.View);
        Field<ListGraphType<NonNullGraphType<ImportedArchGraphType>>>("architectures").Resolve(c => c.Source.Version?.Architectures);
        Field<ListGraphType<NonNullGraphType<StringGraphType>>>("warnings").Resolve(c => c.Source.View.Warnings);
        Field<ImportErrorGraphType>("error").Resolve(c => c.Source.View.ErrorCode is null ? null : c.Source.View);
    }
}

/// <summary>Totals, and per blob the bytes copied so far (<c>layers</c> and <c>bytes_fetched</c> are additions to the contract's four totals).</summary>
public sealed class ImportProgressGraphType : ObjectGraphType<ImportView>
{
    public ImportProgressGraphType()
    {
        Name = "ImportProgress";
        Field<NonNullGraphType<IntGraphType>>("layers_total").Resolve(c => c.Source.Layers.Count);
        Field<NonNullGraphType<IntGraphType>>("layers_done").Resolve(c => c.Source.LayersDone);
        Field<NonNullGraphType<LongGraphType>>("bytes_total").Resolve(c => c.Source.BytesTotal);
        Field<NonNullGraphType<LongGraphType>>("bytes_done").Resolve(c => c.Source.BytesDone);
        Field<LongGraphType>("bytes_fetched").Description("Bytes read from the registry; blobs already stored are not fetched again. Set when completed.").Resolve(c => c.Source.BytesFetched);
        Field<ListGraphType<NonNullGraphType<LayerProgressGraphType>>>("layers").Resolve(c => c.Source.Layers);
    }
}

public sealed class LayerProgressGraphType : ObjectGraphType<LayerProgress>
{
    public LayerProgressGraphType()
    {
        Name = "LayerProgress";
        Field<NonNullGraphType<StringGraphType>>("digest").Resolve(c => c.Source.Digest.ToString());
        Field<NonNullGraphType<LongGraphType>>("size").Resolve(c => c.Source.Size);
        Field<NonNullGraphType<LongGraphType>>("bytes_done").Resolve(c => Math.Min(c.Source.BytesDone, c.Source.Size));
    }
}

public sealed class ImportedArchGraphType : ObjectGraphType<ArchSnapshot>
{
    public ImportedArchGraphType()
    {
        Name = "ImportedArch";
        Field<NonNullGraphType<StringGraphType>>("arch").Resolve(c => c.Source.Arch);
        Field<NonNullGraphType<StringGraphType>>("manifest_digest").Resolve(c => c.Source.Manifest.Digest.ToString());
        Field<NonNullGraphType<StringGraphType>>("config_digest").Resolve(c => c.Source.Config.Digest.ToString());
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<LayerGraphType>>>>("layers").Resolve(c => c.Source.Layers);
    }
}

public sealed class LayerGraphType : ObjectGraphType<Descriptor>
{
    public LayerGraphType()
    {
        Name = "Layer";
        Field<NonNullGraphType<StringGraphType>>("digest").Resolve(c => c.Source.Digest.ToString());
        Field<NonNullGraphType<LongGraphType>>("size").Resolve(c => c.Source.Size);
        Field<NonNullGraphType<StringGraphType>>("media_type").Resolve(c => c.Source.MediaType);
    }
}

public sealed class ImportErrorGraphType : ObjectGraphType<ImportView>
{
    public ImportErrorGraphType()
    {
        Name = "ImportError";
        Field<NonNullGraphType<StringGraphType>>("code").Resolve(c => c.Source.ErrorCode);
        Field<NonNullGraphType<StringGraphType>>("message").Resolve(c => c.Source.ErrorMessage ?? "");
    }
}
