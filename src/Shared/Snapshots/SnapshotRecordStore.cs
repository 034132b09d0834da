using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Pipeline.Storage;

namespace Pipeline.Snapshots;

/// <summary>
/// Versions of node services (table <c>versions</c>: partition = node service id, row = version
/// number, zero-padded so rows sort by version). A row is added once and never updated, so a
/// record once read is kept in a bounded in-process cache: device plans read the same few
/// versions over and over, and no other process can change them.
/// </summary>
public sealed class SnapshotRecordStore(PipelineStorage storage) : IDisposable
{
    private const int CachedRecords = 4096;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = CachedRecords });

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

    /// <summary>Version <paramref name="version"/> of the node service, or null when it does not exist (yet).</summary>
    public async Task<SnapshotRecord?> GetAsync(string nodeServiceId, int version, CancellationToken cancellationToken)
    {
        var cacheKey = (nodeServiceId, version);
        if (_cache.TryGetValue(cacheKey, out SnapshotRecord? cached))
        {
            return cached;
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, RowKey(version), cancellationToken: cancellationToken).ConfigureAwait(false);
        var record = row.HasValue && row.Value is { } entity
            ? JsonSerializer.Deserialize(entity.GetString("record"), SnapshotJsonContext.Default.SnapshotRecord)
            : null;
        // Only what exists is kept: a version missing now may be committed a moment later.
        if (record is not null)
        {
            _cache.Set(cacheKey, record, new MemoryCacheEntryOptions { Size = 1 });
        }
        return record;
    }

    public void Dispose() => _cache.Dispose();
}
