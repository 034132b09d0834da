namespace Pipeline.Snapshots;

/// <summary>
/// How layers are written into the snapshot store (configuration section <c>Pipeline:Snapshots</c>).
/// Memory held for blocks is at most <see cref="MaxBufferedBlocks"/> × <see cref="BlockSizeMiB"/>
/// per process, however many layers are written at once.
/// </summary>
public sealed class SnapshotOptions
{
    public const string Section = "Pipeline:Snapshots";

    /// <summary>
    /// Bytes per staged block, in MiB. A blob no larger than one block is sent in one Put Blob.
    /// Every request costs the service a fixed share of work besides its bytes, so fewer, larger
    /// blocks upload the same layer with less of it.
    /// </summary>
    public int BlockSizeMiB { get; set; } = 16;

    /// <summary>Blocks of one blob being uploaded at once, while the next is read from the registry.</summary>
    public int BlocksInFlightPerBlob { get; set; } = 4;

    /// <summary>Block buffers in use at once across every write of this process.</summary>
    public int MaxBufferedBlocks { get; set; } = 6;

    internal int BlockBytes => checked(BlockSizeMiB * 1024 * 1024);
}
