using Pipeline;
using Pipeline.LocalHost;
using Pipeline.LocalHost.Durable;
using Pipeline.Storage;

// The self-hosted twin of the Functions app: the same /api routes and the same orchestrations,
// on a durable backend that keeps its state in Azure Storage (Azurite locally).
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddPipeline();
builder.Services.AddLocalDurableTask(builder.Configuration, tasks => tasks.AddPipelineTasks());

var app = builder.Build();
await app.Services.GetRequiredService<PipelineStorage>().EnsureSnapshotsContainerAsync(CancellationToken.None);

app.MapPipelineApi();

await app.RunAsync();

/// <summary>Entry point, public so integration tests can host it in-process.</summary>
public partial class Program;
