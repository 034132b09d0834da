using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Pipeline.Storage;

namespace Pipeline.Snapshots;

/// <summary>
/// Versions of node services (table <c>versions</c>: partition = node service id, row = version
/// number, zero-padded so rows sort by version). A row is added once and never updated.
/// </summary>
public sealed class SnapshotRecordStore(PipelineStorage storage)
{
    public const string Table = "versions";

    /// <summary>Table properties hold at most 64 KiB; a record is a few hundred bytes a layer.</summary>
    private const int MaxRecordChars = 30_000;

    public static string RowKey(int version) => version.ToString("D10", CultureInfo.InvariantCulture);

    /// <summary>
    /// What makes two versions the same: each architecture's manifest digest and the settings. A
    /// re-import with the same fingerprint returns the existing version instead of adding one.
    /// </summary>
    public static string Fingerprint(IEnumerable<ArchSnapshot> architectures, ServiceSettings settings)
    {
        var text = string.Join('\n', architectures.OrderBy(a => a.Arch, StringComparer.Ordinal).Select(a => $"{a.Arch}={a.Manifest.Digest}"))
            + "\nsettings=" + settings.Canonical();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public static string Fingerprint(SnapshotRecord record) => Fingerprint(record.Architectures, record.Settings);

    /// <summary>Adds version <paramref name="record"/>; false when that version number is already taken.</summary>
    public async Task<bool> TryAddAsync(SnapshotRecord record, CancellationToken cancellationToken)
    {
        string json = JsonSerializer.Serialize(record, SnapshotJsonContext.Default.SnapshotRecord);
        if (json.Length > MaxRecordChars)
        {
            throw new PipelineException(ErrorCodes.TooLarge, $"The image has too many layers to record ({record.Architectures.Sum(a => a.Layers.Count)}).");
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(record.NodeServiceId, RowKey(record.ContainerVersion))
        {
            ["import_id"] = record.ImportId,
            ["fingerprint"] = Fingerprint(record),
            ["record"] = json,
        };
        try
        {
            await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    public async Task<SnapshotRecord?> GetAsync(string nodeServiceId, int version, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, RowKey(version), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } entity
            ? JsonSerializer.Deserialize(entity.GetString("record"), SnapshotJsonContext.Default.SnapshotRecord)
            : null;
    }
}
