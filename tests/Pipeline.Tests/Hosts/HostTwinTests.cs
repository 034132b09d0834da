using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pipeline.LocalHost;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Hosts;

/// <summary>
/// LocalHost and the Functions app serve the same API and run the same orchestrations: every
/// HTTP route (method and path under <c>/api</c>), orchestrator and activity LocalHost has, the
/// Functions app has too under the same name, and the other way round. The Functions side is
/// read from <c>functions.metadata</c>, the index the Functions host itself loads.
/// </summary>
public sealed class HostTwinTests
{
    private sealed record FunctionEntry(string Name, string Trigger, string? Route, IReadOnlyList<string> Methods);

    private static IReadOnlyList<FunctionEntry> FunctionsApp()
    {
        // The Functions app is built by the same solution build, in the same configuration as these tests.
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string path = Path.Combine(RepoPaths.Root, "functions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is missing: build Pipeline.sln first.");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(f =>
        {
            var trigger = f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            return new FunctionEntry(
                f.GetProperty("name").GetString()!,
                trigger.GetProperty("type").GetString()!,
                trigger.TryGetProperty("route", out var r) ? r.GetString() : null,
                trigger.TryGetProperty("methods", out var m) ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToList() : []);
        }).ToList();
    }

    [Fact]
    public void HttpRoutes_LocalHostAndFunctions_SameMethodsAndPaths()
    {
        var app = WebApplication.CreateBuilder().Build();
        app.MapPipelineApi();
        var local = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal).ToList();
        var functions = FunctionsApp().Where(f => f.Trigger == "httpTrigger")
            .SelectMany(f => f.Methods.Select(m => $"{m} /api/{f.Route}"))
            .Order(StringComparer.Ordinal).ToList();

        Assert.Contains("POST /api/devices/{deviceId}/instances/{instanceId}/plan", local);
        Assert.Equal(local, functions);
    }

    [Fact]
    public void DurableTasks_LocalHostAndFunctions_SameOrchestratorsAndActivities()
    {
        var functions = FunctionsApp();
        var functionOrchestrators = functions.Where(f => f.Trigger == "orchestrationTrigger").Select(f => f.Name).Order(StringComparer.Ordinal);
        var functionActivities = functions.Where(f => f.Trigger == "activityTrigger").Select(f => f.Name).Order(StringComparer.Ordinal);

        Assert.Equal(PipelineServiceCollectionExtensions.Orchestrators.Select(t => t.Name).Order(StringComparer.Ordinal), functionOrchestrators);
        Assert.Equal(PipelineServiceCollectionExtensions.Activities.Select(t => t.Name).Order(StringComparer.Ordinal), functionActivities);
    }
}
