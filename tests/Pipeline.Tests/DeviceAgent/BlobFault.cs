namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// How <see cref="FakeBlobs"/> misbehaves for one blob: drop the connection when the response
/// reaches byte <see cref="DropAt"/> (for the first <see cref="DropTimes"/> responses that get
/// there), stall there instead, ignore <c>Range</c> (200 with everything), answer a 206 whose
/// <c>Content-Range</c> starts elsewhere, refuse with 403, or run <see cref="AtOffset"/> once when
/// the response reaches <see cref="HookAt"/> (to fill the disk mid-download).
/// </summary>
public sealed record BlobFault
{
    public long? DropAt { get; init; }

    public int DropTimes { get; init; } = 1;

    public long? StallAt { get; init; }

    public bool IgnoreRange { get; init; }

    public int WrongContentRangeTimes { get; init; }

    public int ForbiddenTimes { get; init; }

    public long? HookAt { get; init; }

    public Func<Task>? AtOffset { get; init; }
}
