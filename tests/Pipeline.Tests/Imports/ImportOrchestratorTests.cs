using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Pipeline.Imports;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// The orchestrator's control flow on the in-memory durable backend, with activities replaced by
/// recording stand-ins of the same names: what runs, in what order, and how failures surface.
/// </summary>
public sealed class ImportOrchestratorTests
{
    private static Descriptor Blob(char c, long size) => new(MediaTypes.OciLayerGzip, Digest.Parse("sha256:" + new string(c, 64)), size);

    private static ResolvedArch Arch(string arch, params Descriptor[] layers) =>
        new(arch, "127.0.0.1:5000/demo:1", Blob('0', 10) with { MediaType = MediaTypes.OciManifest }, Blob('c', 100) with { MediaType = MediaTypes.OciConfig }, layers);

    private sealed class Recorder
    {
        public ConcurrentQueue<string> Calls { get; } = new();
        public ConcurrentBag<Digest> Snapshotted { get; } = new();
        public RecordImportFailedInput? Failed { get; set; }
        public CommitVersionInput? Committed { get; set; }
        public int LockFreeAfter;
    }

    private static Task<(ImportOutcome Outcome, Recorder Recorder)> RunAsync(Func<ResolveImageInput, ResolvedArch> resolve, params string[] archs) =>
        RunAsync(resolve, lockFreeAfter: 0, archs);

    private static async Task<(ImportOutcome Outcome, Recorder Recorder)> RunAsync(Func<ResolveImageInput, ResolvedArch> resolve, int lockFreeAfter, params string[] archs)
    {
        var rec = new Recorder { LockFreeAfter = lockFreeAfter };
        await using var host = await StartHostAsync(r =>
        {
            r.AddOrchestrator<ImportOrchestrator>();
            r.AddActivityFunc<BeginImportInput, BeginImportResult>(nameof(BeginImportActivity), (_, input) =>
            {
                rec.Calls.Enqueue("lock");
                if (rec.LockFreeAfter-- > 0)
                {
                    return new BeginImportResult(false, []);
                }
                var resolved = input.Sources.Select(source =>
                {
                    rec.Calls.Enqueue("resolve:" + source.Source.Arch);
                    return resolve(source);
                }).ToList();
                // As the real step: nothing to copy, so it commits itself.
                if (input.CommitIfNothingToCopy is { } commit && resolved.All(r => r.Stored))
                {
                    rec.Calls.Enqueue("begin-commit");
                    rec.Committed = commit with { Architectures = resolved };
                    return new BeginImportResult(true, resolved, 7);
                }
                return new BeginImportResult(true, resolved);
            });
            r.AddActivityFunc<SnapshotBlobsInput, SnapshotBlobsResult>(nameof(SnapshotBlobsActivity), (_, input) =>
            {
                rec.Calls.Enqueue("snapshot");
                foreach (var b in input.Blobs)
                {
                    rec.Snapshotted.Add(b.Blob.Digest);
                }
                return new SnapshotBlobsResult(input.Blobs.Count, 0, input.Blobs.Sum(b => b.Blob.Size));
            });
            r.AddActivityFunc<CommitVersionInput, int>(nameof(CommitVersionActivity), (_, input) =>
            {
                rec.Calls.Enqueue("commit");
                rec.Committed = input;
                return 7;
            });
            r.AddActivityFunc<ImportLockInput, bool>(nameof(ReleaseImportLockActivity), (_, _) =>
            {
                rec.Calls.Enqueue("unlock");
                return true;
            });
            r.AddActivityFunc<RecordImportFailedInput, bool>(nameof(RecordImportFailedActivity), (_, input) =>
            {
                rec.Calls.Enqueue("failed");
                rec.Failed = input;
                return true;
            });
        });
        var request = new ImportRequest("imp_test", "cust", "ns_x", "demo", archs.Select(a => new ImportSource(a, "127.0.0.1:5000/demo:1", null)).ToList(), ServiceSettings.Empty, null);
        string id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ImportOrchestrator), request, new StartOrchestrationOptions("imp_test"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var meta = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
        return (meta.ReadOutputAs<ImportOutcome>()!, rec);
    }

    /// <summary>
    /// The test host on a port the OS just handed out. Left to itself it picks a random port in
    /// 30000-40000 without looking, which another test's service may hold (address in use); a
    /// port taken in the moment between choosing and binding is chosen again.
    /// </summary>
    private static async Task<DurableTaskTestHost> StartHostAsync(Action<DurableTaskRegistry> register)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(register, new DurableTaskTestHostOptions { Port = FreePort.Next() });
            }
            catch (IOException e) when (attempt < 3 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
    }

    [Fact]
    public async Task RunAsync_TwoArchsSharingALayer_SnapshotsEachDigestOnceAndCommits()
    {
        var shared = Blob('a', 1000);
        var (outcome, rec) = await RunAsync(i => i.Source.Arch == "amd64" ? Arch("amd64", shared, Blob('b', 50)) : Arch("arm64", shared), "amd64", "arm64");

        Assert.Equal(7, outcome.ContainerVersion);
        Assert.Null(outcome.ErrorCode);
        // config (shared by both stand-ins) + two distinct layers
        Assert.Equal(3, rec.Snapshotted.Count);
        Assert.Equal(3, rec.Snapshotted.Distinct().Count());
        Assert.Equal(2, rec.Committed!.Architectures.Count);
        Assert.Equal(["commit", "unlock"], rec.Calls.TakeLast(2));
        Assert.Equal("lock", rec.Calls.First());
        Assert.Equal(1050 + 100, rec.Committed.BytesFetched);
    }

    [Fact]
    public async Task RunAsync_EveryArchAlreadyInTheLatestVersion_CommitsWithoutSnapshotting()
    {
        var (outcome, rec) = await RunAsync(i => Arch(i.Source.Arch, Blob('a', 1000)) with { Stored = i.NodeServiceId == "ns_x" }, "amd64", "arm64");

        Assert.Equal(7, outcome.ContainerVersion);
        Assert.DoesNotContain("snapshot", rec.Calls);
        Assert.Empty(rec.Snapshotted);
        // Committed in the begin step: no separate commit round trip, then the lock released.
        Assert.Equal(["lock", "resolve:amd64", "resolve:arm64", "begin-commit", "unlock"], rec.Calls.Take(5));
        Assert.DoesNotContain("commit", rec.Calls);
        Assert.Equal(2, rec.Committed!.Architectures.Count);
        Assert.Equal(0, rec.Committed.BytesFetched);
        Assert.Equal("imp_test", rec.Committed.ImportId);
        Assert.Equal("ns_x", rec.Committed.NodeServiceId);
    }

    [Fact]
    public async Task RunAsync_OneArchAlreadyInTheLatestVersion_SnapshotsOnlyTheOther()
    {
        var (outcome, rec) = await RunAsync(i => i.Source.Arch == "amd64" ? Arch("amd64", Blob('a', 1000)) with { Stored = true } : Arch("arm64", Blob('b', 50)), "amd64", "arm64");

        Assert.Equal(7, outcome.ContainerVersion);
        // arm64's config and layer; amd64's own layer is not copied again.
        Assert.Equal(2, rec.Snapshotted.Count);
        Assert.DoesNotContain(Blob('a', 1000).Digest, rec.Snapshotted);
        // Something was copied: the commit is a step of its own, after the copies.
        Assert.DoesNotContain("begin-commit", rec.Calls);
        Assert.Equal(["commit", "unlock"], rec.Calls.TakeLast(2));
    }

    [Fact]
    public async Task RunAsync_LockHeldByAnotherImport_WaitsThenRuns()
    {
        var (outcome, rec) = await RunAsync(_ => Arch("amd64", Blob('a', 10)), lockFreeAfter: 2, "amd64");

        Assert.Equal(7, outcome.ContainerVersion);
        Assert.Equal(["lock", "lock", "lock"], rec.Calls.Take(3));
        Assert.Equal(1, rec.Calls.Count(c => c == "unlock"));
    }

    [Fact]
    public async Task RunAsync_OneArchMismatch_FailsWithItsCodeAndCommitsNothing()
    {
        var (outcome, rec) = await RunAsync(i => i.Source.Arch == "arm64"
            ? throw new PipelineException(ErrorCodes.ArchMismatch, "the image offers linux/amd64 only")
            : Arch("amd64", Blob('a', 10)), "amd64", "arm64");

        Assert.Null(outcome.ContainerVersion);
        Assert.Equal(ErrorCodes.ArchMismatch, outcome.ErrorCode);
        Assert.Equal(ErrorCodes.ArchMismatch, rec.Failed!.Code);
        Assert.Equal("the image offers linux/amd64 only", rec.Failed.Message);
        Assert.DoesNotContain("commit", rec.Calls);
        Assert.DoesNotContain("snapshot", rec.Calls);
        Assert.Equal("unlock", rec.Calls.Last());
    }

    [Fact]
    public async Task RunAsync_UnexpectedException_FailsAsInternalWithoutItsText()
    {
        var (outcome, rec) = await RunAsync(_ => throw new InvalidOperationException("secret-ish detail"), "amd64");

        Assert.Equal(ErrorCodes.Internal, outcome.ErrorCode);
        Assert.DoesNotContain("secret-ish", rec.Failed!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Group_ManyBlobs_BalancesBytesAcrossAtMostMaxGroups()
    {
        var blobs = Enumerable.Range(0, 10)
            .Select(i => new BlobSource("r", null, new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute([(byte)i]), (i + 1) * 100)))
            .ToList();
        var groups = ImportOrchestrator.Group(blobs, ImportOrchestrator.MaxGroups);

        Assert.Equal(ImportOrchestrator.MaxGroups, groups.Count);
        Assert.Equal(10, groups.Sum(g => g.Count));
        var sums = groups.Select(g => g.Sum(b => b.Blob.Size)).ToList();
        Assert.True(sums.Max() - sums.Min() <= 1000, string.Join(",", sums));
    }
}
