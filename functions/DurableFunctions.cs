using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Deployments;
using Pipeline.Deltas;
using Pipeline.Imports;
using Pipeline.Rollouts;

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

    [Function(nameof(BeginImportActivity))]
    public static Task<BeginImportResult> BeginImport([ActivityTrigger] BeginImportInput input, FunctionContext fc) =>
        Activity<BeginImportActivity>(fc).RunAsync(Context(nameof(BeginImportActivity), fc), input);

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

    [Function(nameof(RolloutOrchestrator))]
    public static Task<string> RunRolloutOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new RolloutOrchestrator().RunAsync(context, context.GetInput<RolloutInput>()!);

    [Function(nameof(StartRolloutActivity))]
    public static Task<bool> StartRollout([ActivityTrigger] RolloutInput input, [DurableClient] DurableTaskClient durable) =>
        StartRolloutActivity.StartAsync(durable, input);

    [Function(nameof(BeginRolloutActivity))]
    public static Task<RolloutStep> BeginRollout([ActivityTrigger] RolloutInput input, FunctionContext fc) =>
        Activity<BeginRolloutActivity>(fc).RunAsync(Context(nameof(BeginRolloutActivity), fc), input);

    [Function(nameof(StartWaveActivity))]
    public static Task<RolloutStep> StartWave([ActivityTrigger] RolloutInput input, FunctionContext fc) =>
        Activity<StartWaveActivity>(fc).RunAsync(Context(nameof(StartWaveActivity), fc), input);

    [Function(nameof(EvaluateWaveActivity))]
    public static Task<WaveVerdict> EvaluateWave([ActivityTrigger] RolloutInput input, FunctionContext fc) =>
        Activity<EvaluateWaveActivity>(fc).RunAsync(Context(nameof(EvaluateWaveActivity), fc), input);

    [Function(nameof(IndexVersionActivity))]
    public static Task<int> IndexVersion([ActivityTrigger] IndexVersionInput input, FunctionContext fc) =>
        Activity<IndexVersionActivity>(fc).RunAsync(Context(nameof(IndexVersionActivity), fc), input);

    [Function(nameof(EndRolloutActivity))]
    public static Task<bool> EndRollout([ActivityTrigger] EndRolloutInput input, FunctionContext fc) =>
        Activity<EndRolloutActivity>(fc).RunAsync(Context(nameof(EndRolloutActivity), fc), input);

    private static T Activity<T>(FunctionContext fc) where T : class =>
        ActivatorUtilities.GetServiceOrCreateInstance<T>(fc.InstanceServices);

    private static FunctionActivityContext Context(string name, FunctionContext fc) => new(name, fc.InvocationId);
}
