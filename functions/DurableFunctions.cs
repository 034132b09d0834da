using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Deployments;
using Pipeline.Imports;

namespace Pipeline.Functions;

/// <summary>
/// One-line adapters exposing the shared orchestrators and activities as Durable Functions; the
/// logic lives in src/Shared, and LocalHost runs the very same classes.
/// </summary>
public static class DurableFunctions
{
    [Function(nameof(ImportOrchestrator))]
    public static Task<ImportOutcome> RunImportOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new ImportOrchestrator().RunAsync(context, context.GetInput<ImportRequest>()!);

    [Function(nameof(ResolveImageActivity))]
    public static Task<ResolvedArch> ResolveImage([ActivityTrigger] ResolveImageInput input, FunctionContext fc) =>
        Activity<ResolveImageActivity>(fc).RunAsync(Context(nameof(ResolveImageActivity), fc), input);

    [Function(nameof(RecordBlobsActivity))]
    public static Task<bool> RecordBlobs([ActivityTrigger] RecordBlobsInput input, FunctionContext fc) =>
        Activity<RecordBlobsActivity>(fc).RunAsync(Context(nameof(RecordBlobsActivity), fc), input);

    [Function(nameof(SnapshotBlobsActivity))]
    public static Task<SnapshotBlobsResult> SnapshotBlobs([ActivityTrigger] SnapshotBlobsInput input, FunctionContext fc) =>
        Activity<SnapshotBlobsActivity>(fc).RunAsync(Context(nameof(SnapshotBlobsActivity), fc), input);

    [Function(nameof(CommitVersionActivity))]
    public static Task<int> CommitVersion([ActivityTrigger] CommitVersionInput input, FunctionContext fc) =>
        Activity<CommitVersionActivity>(fc).RunAsync(Context(nameof(CommitVersionActivity), fc), input);

    [Function(nameof(RecordImportFailedActivity))]
    public static Task<bool> RecordImportFailed([ActivityTrigger] RecordImportFailedInput input, FunctionContext fc) =>
        Activity<RecordImportFailedActivity>(fc).RunAsync(Context(nameof(RecordImportFailedActivity), fc), input);

    [Function(nameof(AcquireImportLockActivity))]
    public static Task<bool> AcquireImportLock([ActivityTrigger] ImportLockInput input, FunctionContext fc) =>
        Activity<AcquireImportLockActivity>(fc).RunAsync(Context(nameof(AcquireImportLockActivity), fc), input);

    [Function(nameof(ReleaseImportLockActivity))]
    public static Task<bool> ReleaseImportLock([ActivityTrigger] ImportLockInput input, FunctionContext fc) =>
        Activity<ReleaseImportLockActivity>(fc).RunAsync(Context(nameof(ReleaseImportLockActivity), fc), input);

    [Function(nameof(DeploymentFanOutOrchestrator))]
    public static Task<FanOutTotals> RunDeploymentFanOutOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new DeploymentFanOutOrchestrator().RunAsync(context, context.GetInput<FanOutRequest>()!);

    [Function(nameof(FanOutPageActivity))]
    public static Task<FanOutPageResult> FanOutPage([ActivityTrigger] FanOutPageInput input, FunctionContext fc) =>
        Activity<FanOutPageActivity>(fc).RunAsync(Context(nameof(FanOutPageActivity), fc), input);

    [Function(nameof(StartFanOutActivity))]
    public static Task<bool> StartFanOut([ActivityTrigger] StartFanOutInput input, [DurableClient] DurableTaskClient durable) =>
        StartFanOutActivity.StartAsync(durable, input);

    private static T Activity<T>(FunctionContext fc) where T : class =>
        ActivatorUtilities.GetServiceOrCreateInstance<T>(fc.InstanceServices);

    private static FunctionActivityContext Context(string name, FunctionContext fc) => new(name, fc.InvocationId);
}
