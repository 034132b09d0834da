using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Infra;

/// <summary>
/// Compiles <c>infra/bicep/main.bicep</c> with the pinned bicep CLI and checks the ARM template a
/// deployment would send: the CDN in front of the snapshot blobs, the setting that points download
/// URLs at it, and the identity's roles. Values that cross module boundaries are followed from
/// parameter to module output, so a setting wired to the wrong module fails here, not in Azure.
/// </summary>
public sealed class BicepTemplateTests(BicepTemplateFixture arm) : IClassFixture<BicepTemplateFixture>
{
    private const string StorageBlobDelegator = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a";

    // Roles far broader than the app needs: Owner, Contributor, Storage Blob Data Owner.
    private static readonly string[] ForbiddenRoles =
    [
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "b24988ac-6180-42a0-ab88-20f7b0dfee81",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    ];

    [Fact]
    public void Build_FrontDoorProfile_IsStandardAzureFrontDoor()
    {
        var profile = Assert.Single(arm.OfType("Microsoft.Cdn/profiles"));

        Assert.Equal("Standard_AzureFrontDoor", Text(profile.Json["sku"]?["name"]));
        Assert.Single(arm.OfType("Microsoft.Cdn/profiles/afdEndpoints"));
    }

    [Fact]
    public void Build_FrontDoorRoute_AcceptsOnlyHttpsAndForwardsHttpsOnly()
    {
        var route = Assert.Single(arm.OfType("Microsoft.Cdn/profiles/afdEndpoints/routes")).Json["properties"]!;

        Assert.Equal("Https", Assert.Single(Texts(route["supportedProtocols"])));
        Assert.Equal("HttpsOnly", Text(route["forwardingProtocol"]));
        Assert.Equal("/*", Assert.Single(Texts(route["patternsToMatch"])));
        Assert.Equal("Enabled", Text(route["linkToDefaultDomain"]));
        // The base URL stands in for the account root: the path must reach storage unchanged.
        Assert.True(string.IsNullOrEmpty(route["originPath"]?.GetValue<string>()), "route has an originPath");
    }

    [Fact]
    public void Build_FrontDoorRoute_CachesWithQueryStringInKeyAndNoCompression()
    {
        var route = Assert.Single(arm.OfType("Microsoft.Cdn/profiles/afdEndpoints/routes")).Json["properties"]!;

        var cache = Assert.IsType<JsonObject>(route["cacheConfiguration"]);
        // Each SAS (time bucket) is its own cached object; ignoring it would serve any URL from cache.
        Assert.Equal("UseQueryString", Text(cache["queryStringCachingBehavior"]));
        Assert.False(cache["compressionSettings"]?["isCompressionEnabled"]?.GetValue<bool>() ?? false);
    }

    [Fact]
    public void Build_FrontDoorOrigin_IsTheStorageBlobEndpointHost()
    {
        var origin = Assert.Single(arm.OfType("Microsoft.Cdn/profiles/originGroups/origins"));
        var properties = origin.Json["properties"]!;

        Assert.Equal(Text(properties["hostName"]), Text(properties["originHostHeader"]));
        var host = ArmExpressions.ResolveVariable(origin.Scope, Text(properties["hostName"]));
        var parameter = Assert.Single(ArmExpressions.ParameterNames(host));
        var (_, source) = ArmExpressions.Trace(origin.Scope, $"[parameters('{parameter}')]");
        Assert.Contains("'Microsoft.Storage/storageAccounts'", source);
        Assert.EndsWith(".primaryEndpoints.blob]", source);
    }

    [Fact]
    public void Build_DownloadsBaseUrlSetting_IsHttpsFrontDoorEndpointHostName()
    {
        var app = Assert.Single(arm.OfType("Microsoft.Web/sites"));

        var setting = Assert.Single(ArmExpressions.AppSettings(app), s => Text(s["name"]) == "Pipeline__Downloads__BaseUrl");
        var (scope, source) = ArmExpressions.Trace(app.Scope, Text(setting["value"]));

        Assert.StartsWith("[format('https://{0}', ", source);
        Assert.Matches(@"reference\(resourceId\('Microsoft\.Cdn/profiles/afdEndpoints', .*\), '[^']+'\)\.hostName\)\]$", source);
        Assert.Contains(scope.Resources, r => Text(r["type"]) == "Microsoft.Cdn/profiles/afdEndpoints");
    }

    [Fact]
    public void Build_AppIdentity_GetsStorageBlobDelegatorOnTheStorageAccount()
    {
        var assignment = Assert.Single(
            arm.OfType("Microsoft.Authorization/roleAssignments"),
            a => ArmExpressions.RoleIds(a).Contains(StorageBlobDelegator));

        Assert.Contains("'Microsoft.Storage/storageAccounts'", Text(assignment.Json["scope"]));
        var (_, principal) = ArmExpressions.Trace(assignment.Scope, Text(assignment.Json["properties"]?["principalId"]));
        Assert.Matches(@"^\[reference\(resourceId\('Microsoft\.ManagedIdentity/userAssignedIdentities'.*\)\.principalId\]$", principal);
    }

    [Fact]
    public void Build_RoleAssignments_GrantNoOwnerContributorOrDataOwner()
    {
        var granted = arm.OfType("Microsoft.Authorization/roleAssignments").SelectMany(ArmExpressions.RoleIds).ToHashSet();

        Assert.Contains(StorageBlobDelegator, granted); // the resolver sees through variables and loops
        Assert.Empty(granted.Intersect(ForbiddenRoles));
        // Also where the resolver cannot look (a role id built some other way).
        Assert.All(ForbiddenRoles, id => Assert.DoesNotContain(id, arm.Json, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Build_AppSettingsAndOutputs_HoldNoAccountKey()
    {
        var app = Assert.Single(arm.OfType("Microsoft.Web/sites"));
        var texts = ArmExpressions.AppSettings(app).Select(s => s.ToJsonString())
            .Concat(arm.Scopes.SelectMany(s => s.Outputs).Select(o => o.ToJsonString()))
            .ToList();

        Assert.Contains(texts, t => t.Contains("Pipeline__Downloads__BaseUrl", StringComparison.Ordinal));
        Assert.All(texts, t => Assert.DoesNotContain("AccountKey", t, StringComparison.OrdinalIgnoreCase));
        Assert.All(texts, t => Assert.DoesNotContain("listKeys", t, StringComparison.OrdinalIgnoreCase));
    }

    private static string Text(JsonNode? node) =>
        node?.GetValue<string>() ?? throw new InvalidOperationException("Expected a string in the template.");

    private static string[] Texts(JsonNode? node) =>
        [.. (node as JsonArray ?? throw new InvalidOperationException("Expected an array in the template.")).Select(Text)];
}

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

/// <summary>One template: the root, or a module's, with the deployment resource that carries it.</summary>
public sealed record ArmScope(JsonObject Template, JsonObject? Deployment, ArmScope? Parent)
{
    // Templates with symbolic names (languageVersion 2.0) hold resources in an object.
    public IEnumerable<JsonObject> Resources => Template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject byName => byName.Select(p => p.Value).OfType<JsonObject>(),
        _ => [],
    };

    public IEnumerable<JsonNode> Outputs =>
        (Template["outputs"] as JsonObject)?.Select(o => o.Value).OfType<JsonNode>() ?? [];
}

public sealed record ArmResource(JsonObject Json, ArmScope Scope);

/// <summary>Just enough of ARM's expression language to follow values through modules.</summary>
internal static partial class ArmExpressions
{
    /// <summary>
    /// Follows a bare <c>parameters('x')</c> to the value the enclosing module call passes, and a bare
    /// module output reference to that module's output expression, until neither applies.
    /// </summary>
    public static (ArmScope Scope, string Expression) Trace(ArmScope scope, string expression)
    {
        for (var hops = 0; hops < 32; hops++)
        {
            if (BareParameter().Match(expression) is { Success: true } p && scope.Deployment is not null && scope.Parent is not null)
            {
                expression = scope.Deployment["properties"]?["parameters"]?[p.Groups["name"].Value]?["value"]?.GetValue<string>()
                    ?? throw new InvalidOperationException($"Module parameter {p.Groups["name"].Value} has no string value.");
                scope = scope.Parent;
            }
            else if (BareModuleOutput().Match(expression) is { Success: true } o)
            {
                var module = scope.Resources.Single(r =>
                    r["type"]?.GetValue<string>() == "Microsoft.Resources/deployments"
                    && r["name"]?.GetValue<string>() == o.Groups["module"].Value);
                scope = new ArmScope(module["properties"]!["template"]!.AsObject(), module, scope);
                expression = scope.Template["outputs"]?[o.Groups["output"].Value]?["value"]?.GetValue<string>()
                    ?? throw new InvalidOperationException($"Module {o.Groups["module"].Value} has no output {o.Groups["output"].Value}.");
            }
            else
            {
                return (scope, expression);
            }
        }
        throw new InvalidOperationException($"Expression does not settle: {expression}");
    }

    public static string ResolveVariable(ArmScope scope, string expression) =>
        BareVariable().Match(expression) is { Success: true } v
            ? scope.Template["variables"]?[v.Groups["name"].Value]?.GetValue<string>() ?? expression
            : expression;

    public static IEnumerable<string> ParameterNames(string expression) =>
        ParameterReference().Matches(expression).Select(m => m.Groups["name"].Value).Distinct();

    /// <summary>The app settings of a site, whether written inline or concatenated from variables.</summary>
    public static IEnumerable<JsonObject> AppSettings(ArmResource site)
    {
        var settings = site.Json["properties"]?["siteConfig"]?["appSettings"];
        IEnumerable<JsonNode?> nodes = settings is JsonValue expression
            ? VariableReference().Matches(expression.GetValue<string>()).Select(m => site.Scope.Template["variables"]?[m.Groups["name"].Value])
            : [settings];
        foreach (var node in nodes)
        {
            switch (node)
            {
                case JsonArray array:
                    foreach (var item in array.OfType<JsonObject>())
                    {
                        yield return item;
                    }
                    break;
                case JsonValue conditional:
                    // e.g. if(empty(key), createArray(), createArray(createObject('name', …))): kept whole.
                    yield return new JsonObject { ["name"] = "(expression)", ["value"] = conditional.GetValue<string>() };
                    break;
            }
        }
    }

    /// <summary>Role definition ids an assignment can grant, looking through variables and copy loops.</summary>
    public static IEnumerable<string> RoleIds(ArmResource assignment) =>
        GuidsIn(assignment.Scope, assignment.Json["properties"]?["roleDefinitionId"], depth: 0).Distinct();

    private static IEnumerable<string> GuidsIn(ArmScope scope, JsonNode? node, int depth)
    {
        if (depth > 16 || node is null)
        {
            return [];
        }
        return node switch
        {
            JsonArray array => array.SelectMany(n => GuidsIn(scope, n, depth + 1)),
            JsonObject obj => obj.SelectMany(p => GuidsIn(scope, p.Value, depth + 1)),
            JsonValue value when value.TryGetValue<string>(out var text) => GuidsInText(scope, text, depth),
            _ => [],
        };
    }

    private static IEnumerable<string> GuidsInText(ArmScope scope, string text, int depth)
    {
        var literal = GuidLiteral().Matches(text).Select(m => m.Value.ToLowerInvariant());
        // variables('roles').storageBlobDelegator -> that one entry; variables('storageRoles')[copyIndex()] -> every element.
        var referenced = VariablePath().Matches(text).SelectMany(m =>
        {
            JsonNode? value = scope.Template["variables"]?[m.Groups["name"].Value];
            foreach (var property in m.Groups["path"].Value.Split('.', StringSplitOptions.RemoveEmptyEntries))
            {
                value = value?[property];
            }
            return GuidsIn(scope, value, depth + 1);
        });
        return literal.Concat(referenced);
    }

    [GeneratedRegex(@"^\[parameters\('(?<name>[^']+)'\)\]$")]
    private static partial Regex BareParameter();

    [GeneratedRegex(@"^\[variables\('(?<name>[^']+)'\)\]$")]
    private static partial Regex BareVariable();

    [GeneratedRegex(@"^\[reference\(\w+\([^\[\]]*'Microsoft\.Resources/deployments', '(?<module>[^']+)'\), '[^']+'\)\.outputs\.(?<output>\w+)\.value\]$")]
    private static partial Regex BareModuleOutput();

    [GeneratedRegex(@"parameters\('(?<name>[^']+)'\)")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)(?<path>(?:\.\w+)*)")]
    private static partial Regex VariablePath();

    [GeneratedRegex(@"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex GuidLiteral();
}
