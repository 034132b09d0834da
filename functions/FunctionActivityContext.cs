using Microsoft.DurableTask;

namespace Pipeline.Functions;

/// <summary>The activity context the shared activity classes expect, for a function-hosted activity.</summary>
internal sealed class FunctionActivityContext(TaskName name, string instanceId) : TaskActivityContext
{
    public override TaskName Name { get; } = name;

    public override string InstanceId { get; } = instanceId;
}
