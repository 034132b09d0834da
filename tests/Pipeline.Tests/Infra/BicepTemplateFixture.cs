using System.Reflection;
using System.Text.Json.Nodes;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Infra;

/// <summary>The compiled template of <c>main.bicep</c>, built once for the test class.</summary>
public sealed class BicepTemplateFixture : IAsyncLifetime
{
    private List<ArmScope>? _scopes;

    /// <summary>The ARM JSON exactly as <c>bicep build --stdout</c> printed it.</summary>
    public string Json { get; private set; } = "";

    /// <summary>The root template and every nested module template.</summary>
    public IReadOnlyList<ArmScope> Scopes => _scopes ?? throw new InvalidOperationException("Not built.");

    public IEnumerable<ArmResource> OfType(string type) =>
        Scopes.SelectMany(s => s.Resources.Where(r => r["type"]?.GetValue<string>() == type).Select(r => new ArmResource(r, s)));

    public async Task InitializeAsync()
    {
        var main = Path.Combine(RepoPaths.Root, "infra", "bicep", "main.bicep");
        var result = await ProcessRunner.RunAsync(BicepCli(), ["build", main, "--stdout"]);
        Json = result.StdOut;
        var root = JsonNode.Parse(Json)?.AsObject() ?? throw new InvalidOperationException("bicep printed no template.");
        _scopes = [];
        Collect(new ArmScope(root, Deployment: null, Parent: null), _scopes);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    // Each module compiles into a Microsoft.Resources/deployments resource carrying its template.
    private static void Collect(ArmScope scope, List<ArmScope> into)
    {
        into.Add(scope);
        foreach (var resource in scope.Resources)
        {
            if (resource["type"]?.GetValue<string>() == "Microsoft.Resources/deployments"
                && resource["properties"]?["template"] is JsonObject template)
            {
                Collect(new ArmScope(template, resource, scope), into);
            }
        }
    }

    private static string BicepCli()
    {
        var path = typeof(BicepTemplateFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "BicepCli")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The bicep CLI from Azure.Bicep.CommandLine.linux-x64 is missing ('{path}'). Restore tests/Pipeline.Tests.");
        }
        // NuGet does not keep the executable bit when it extracts the package.
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
        }
        return path;
    }
}
