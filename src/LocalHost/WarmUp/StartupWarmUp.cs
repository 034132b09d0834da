using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.Options;
using Pipeline.Fleet.Rollout;
using Pipeline.Imports;
using Pipeline.Snapshots;

namespace Pipeline.LocalHost.WarmUp;

/// <summary>
/// Runs once when LocalHost has started, before <c>/api/health</c> answers <c>ok</c>: the code a
/// first import runs, on throwaway data. A fresh process otherwise compiles and initialises that
/// code (the durable worker's dispatch and serializer, table and blob clients, the GraphQL
/// executor) while the first import waits: measured on the import benchmark, a process that had
/// run one small import before imported the 500 MiB image 0.9 s faster (4.62 s against 5.55)
/// with 0.9 s less CPU.
/// </summary>
/// <remarks>
/// What it does: an import row under a fresh import id; an orchestration shaped like an import
/// under that id (<see cref="WarmUpOrchestrator"/>), whose copy groups write progress rows,
/// resolve an image and read its layer through a registry client from a registry in memory
/// (<see cref="WarmUpRegistry"/>), and send the layer by a layer's streamed path to blobs outside
/// <c>sha256/</c>; meanwhile, through
/// this process's own HTTP endpoint, <c>DM_get_import</c> of that id and a
/// <c>DM_import_node_service</c> refused by its input check (the same arch twice). Then the
/// orchestration is purged and the rows and blobs deleted. No registry is contacted over the
/// network; no node service, version or snapshot is written. A failure, or a run longer than <see cref="Limit"/>,
/// is logged and the host is ready anyway.
/// </remarks>
public sealed partial class StartupWarmUp(
    IHostApplicationLifetime lifetime,
    IServer server,
    DurableTaskClient durable,
    ImportStore imports,
    IOptions<PipelineOptions> options,
    ILogger<StartupWarmUp> logger) : BackgroundService
{
    /// <summary>Configuration key (<c>Pipeline__WarmUp</c>): <c>false</c> skips the warm-up.</summary>
    public const string EnabledKey = "Pipeline:WarmUp";

    /// <summary>The customer id on the warm-up's import row: '~' is refused in customer ids, so it is never a tenant's.</summary>
    public const string Customer = "~warm-up";

    /// <summary>Longest the warm-up may hold back readiness.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the warm-up has ended (done, failed or given up).</summary>
    public bool Done => _done.Task.IsCompleted;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await WhenStartedAsync(stoppingToken).ConfigureAwait(false);
            var took = Stopwatch.StartNew();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            limit.CancelAfter(Limit);
            // Ready after the limit whatever the run is waiting for (its clean-up included).
            var answers = await RunAsync(limit.Token).WaitAsync(Limit, stoppingToken).ConfigureAwait(false);
            LogDone(logger, took.ElapsedMilliseconds, answers.Count == 0 ? "none" : string.Join(", ", answers));
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            LogFailed(logger, e);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Until Kestrel listens and the hosted services (the durable worker among them) have started.</summary>
    private Task WhenStartedAsync(CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Runs the warm-up; returns the HTTP status of each GraphQL request it sent itself.</summary>
    private async Task<List<int>> RunAsync(CancellationToken cancellationToken)
    {
        var answers = new List<int>();
        string importId = Ids.NewImportId();
        string nodeServiceId = "ns_" + Guid.NewGuid().ToString("N")[..24];
        var request = new ImportRequest(importId, Customer, nodeServiceId, "warm-up",
            [new ImportSource("amd64", WarmUpRegistry.ReferenceText, null)], ServiceSettings.Empty, null, RolloutPolicy.Default);
        await imports.CreateAsync(importId, Customer, nodeServiceId, request.Name, cancellationToken).ConfigureAwait(false);
        try
        {
            await imports.MarkRunningAsync(importId, cancellationToken).ConfigureAwait(false);
            await durable.ScheduleNewOrchestrationInstanceAsync(nameof(WarmUpOrchestrator), request, new StartOrchestrationOptions(importId), cancellationToken).ConfigureAwait(false);
            PrepareContracts();
            using var http = OwnEndpoint();
            if (http is not null)
            {
                answers.Add(await GraphQLAsync(http, GetImport, new { id = importId }, cancellationToken).ConfigureAwait(false));
                answers.Add(await GraphQLAsync(http, RefusedImport, RefusedImportVariables, cancellationToken).ConfigureAwait(false));
            }
            var end = await durable.WaitForInstanceCompletionAsync(importId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (end.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            {
                throw new InvalidOperationException($"The warm-up orchestration ended {end.RuntimeStatus}: {end.FailureDetails?.ErrorMessage}");
            }
            var outcome = end.ReadOutputAs<ImportOutcome>();
            await imports.CompleteAsync(importId, outcome?.ContainerVersion ?? 0, [], 0, cancellationToken).ConfigureAwait(false);
            if (http is not null)
            {
                answers.Add(await GraphQLAsync(http, GetImport, new { id = importId }, cancellationToken).ConfigureAwait(false));
            }
            return answers;
        }
        finally
        {
            // Whatever happened above: leave nothing behind (the rows even if the purge failed).
            using var cleanUp = new CancellationTokenSource(Limit);
            try
            {
                await durable.PurgeInstanceAsync(importId, cancellation: cleanUp.Token).ConfigureAwait(false);
            }
            finally
            {
                await imports.DeleteAsync(importId, cleanUp.Token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Every input and output type of the pipeline's orchestrators and activities once through the
    /// durable serializer (read from <c>{}</c>, written back): its contract for each type, built on
    /// first use, is then ready for the first import's steps. A type that cannot be read from an
    /// empty object is left for its first real use.
    /// </summary>
    private static void PrepareContracts()
    {
        var converter = JsonDataConverter.Default;
        foreach (var type in ContractTypes())
        {
            try
            {
                converter.Serialize(converter.Deserialize("{}", type));
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
            {
            }
        }
    }

    private static IEnumerable<Type> ContractTypes() =>
        PipelineServiceCollectionExtensions.Orchestrators.Concat(PipelineServiceCollectionExtensions.Activities)
            .Select(t => t.BaseType)
            .Where(b => b is { IsGenericType: true } && (b.GetGenericTypeDefinition() == typeof(TaskOrchestrator<,>) || b.GetGenericTypeDefinition() == typeof(TaskActivity<,>)))
            .SelectMany(b => b!.GetGenericArguments())
            .Distinct();

    private const string GetImport =
        "query($id: ID!) { DM_get_import(import_id: $id) { import_id node_service_id status container_version warnings " +
        "progress { layers_total layers_done bytes_total bytes_done bytes_fetched layers { digest size bytes_done } } " +
        "architectures { arch manifest_digest config_digest layers { digest size media_type } } error { code message } } }";

    /// <summary>
    /// Refused by the input check (the same arch twice), before anything is written: its input is
    /// coerced and parsed like any import's up to that point. Without an admin key it is a 401.
    /// </summary>
    public const string RefusedImport =
        "mutation($c: ID!, $in: NodeServiceInput!) { DM_import_node_service(customer_id: $c, node_service_input: $in) { import_id status } }";

    /// <summary>The variables of <see cref="RefusedImport"/>.</summary>
    public static readonly object RefusedImportVariables = new
    {
        c = "warm-up",
        @in = new
        {
            name = "warm-up",
            image_sources = new[]
            {
                new { arch = "amd64", image_reference = WarmUpRegistry.ReferenceText },
                new { arch = "amd64", image_reference = WarmUpRegistry.ReferenceText },
            },
        },
    };

    /// <summary>A client of this process's own HTTP endpoint, with the admin key when one is set.</summary>
    private HttpClient? OwnEndpoint()
    {
        string? address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null || !Uri.TryCreate(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal), UriKind.Absolute, out var baseUri))
        {
            return null;
        }
        var http = new HttpClient { BaseAddress = baseUri, Timeout = Limit };
        if (options.Value.AdminKey is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return http;
    }

    private static async Task<int> GraphQLAsync(HttpClient http, string query, object variables, CancellationToken cancellationToken)
    {
        using var body = new StringContent(JsonSerializer.Serialize(new { query, variables }), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/api/graphql", body, cancellationToken).ConfigureAwait(false);
        // The answer does not matter (without an admin key it is a 401): the request ran the endpoint.
        await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return (int)response.StatusCode;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up in {Milliseconds} ms (own GraphQL requests answered {Answers}): the first import runs compiled code")]
    private static partial void LogDone(ILogger logger, long milliseconds, string answers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The start-up warm-up failed; the host is ready anyway and its first import compiles what it runs")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
