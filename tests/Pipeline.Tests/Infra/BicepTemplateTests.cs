using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;

namespace Pipeline.Tests.Infra;

/// <summary>
/// Compiles <c>infra/bicep/main.bicep</c> with the pinned bicep CLI and checks the ARM template a
/// deployment would send: the CDN in front of the snapshot blobs, the setting that points download
/// URLs at it, the Service Bus topic deployment messages go to, the identity's roles, and the absence
/// of keys. Values that cross module boundaries are followed from
/// parameter to module output, so a setting wired to the wrong module fails here, not in Azure.
/// </summary>
public sealed class BicepTemplateTests(BicepTemplateFixture arm) : IClassFixture<BicepTemplateFixture>
{
    private const string StorageBlobDelegator = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a";
    private const string ServiceBusDataSender = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39";

    // Roles far broader than the app needs: Owner, Contributor, Storage Blob Data Owner,
    // Azure Service Bus Data Owner.
    private static readonly string[] ForbiddenRoles =
    [
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "b24988ac-6180-42a0-ab88-20f7b0dfee81",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "090c5cfd-751d-490a-894a-3ce6f1109419",
    ];

    // What a connection string, a SAS key or a storage key looks like in a template.
    private static readonly string[] KeyMarkers = ["Endpoint=sb://", "SharedAccessKey", "listKeys", "AccountKey"];

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

    [Fact]
    public void Build_ServiceBusNamespace_DisablesLocalAuthAndRequiresTls12()
    {
        var properties = Assert.Single(arm.OfType("Microsoft.ServiceBus/namespaces")).Json["properties"]!;

        Assert.True(Bool(properties["disableLocalAuth"]), "SAS keys of the namespace still work");
        Assert.Equal("1.2", Text(properties["minimumTlsVersion"]));
    }

    [Fact]
    public void Build_ServiceBusNamespace_IsAtLeastStandard()
    {
        var sku = Assert.Single(arm.OfType("Microsoft.ServiceBus/namespaces")).Json["sku"]!;

        // Basic has no topics, sessions or duplicate detection.
        Assert.Contains(Text(sku["name"]), new[] { "Standard", "Premium" });
    }

    [Fact]
    public void Build_DeploymentsTopic_DetectsDuplicatesForAtLeastAnHour()
    {
        var properties = DeploymentsTopic().Json["properties"]!;

        Assert.True(Bool(properties["requiresDuplicateDetection"]), "duplicate detection is off");
        var window = XmlConvert.ToTimeSpan(Text(properties["duplicateDetectionHistoryTimeWindow"]));
        // A durable retry of a fan-out resends with the same MessageId; the window must outlast it.
        Assert.InRange(window, TimeSpan.FromHours(1), TimeSpan.FromDays(7)); // 7 days: the service's limit
        Assert.True(Bool(properties["supportOrdering"]), "ordering is off");
    }

    [Fact]
    public void Build_DeploymentsTopicSubscriptions_OneRequiresSessions()
    {
        var topic = ArmExpressions.NameSegments(DeploymentsTopic());

        var subscriptions = arm.OfType("Microsoft.ServiceBus/namespaces/topics/subscriptions")
            .Where(s => ArmExpressions.NameSegments(s).Take(2).SequenceEqual(topic))
            .ToList();

        // SessionId = device_id: a receiver takes one device's messages, in order.
        Assert.Contains(subscriptions, s => s.Json["properties"]?["requiresSession"]?.GetValue<bool>() == true);
    }

    [Fact]
    public void Build_AppIdentity_GetsServiceBusDataSenderOnTheDeploymentsTopicOnly()
    {
        var assignment = Assert.Single(
            arm.OfType("Microsoft.Authorization/roleAssignments"),
            a => ArmExpressions.RoleIds(a).Contains(ServiceBusDataSender));

        // The topic itself: neither its namespace nor the resource group.
        var scope = Matched(
            @"^\[resourceId\('Microsoft\.ServiceBus/namespaces/topics', (?<namespace>parameters\('[^']+'\)), (?<topic>parameters\('[^']+'\))\)\]$",
            Text(assignment.Json["scope"]));
        var topic = ArmExpressions.NameSegments(DeploymentsTopic());
        Assert.Equal(topic[0], Traced(assignment.Scope, scope.Groups["namespace"].Value));
        Assert.Equal(topic[1], Traced(assignment.Scope, scope.Groups["topic"].Value));
        var (_, principal) = ArmExpressions.Trace(assignment.Scope, Text(assignment.Json["properties"]?["principalId"]));
        Assert.Matches(@"^\[reference\(resourceId\('Microsoft\.ManagedIdentity/userAssignedIdentities'.*\)\.principalId\]$", principal);
    }

    [Fact]
    public void Build_ServiceBusSettingsAndOutput_NameTheNamespaceHostAndTheAppIdentity()
    {
        var app = Assert.Single(arm.OfType("Microsoft.Web/sites"));
        var settings = ArmExpressions.AppSettings(app).ToList();

        var host = Assert.Single(settings, s => Text(s["name"]) == "Pipeline__ServiceBus__FullyQualifiedNamespace");
        var (scope, source) = ArmExpressions.Trace(app.Scope, Text(host["value"]));
        // `https://<name>.servicebus.windows.net:443/` -> `<name>.servicebus.windows.net`.
        var endpoint = Matched(
            @"^\[split\(split\(reference\(resourceId\('Microsoft\.ServiceBus/namespaces', (?<name>parameters\('[^']+'\))\), '[^']+'\)\.serviceBusEndpoint, '/'\)\[2\], ':'\)\[0\]\]$",
            source);
        Assert.Contains(scope.Resources, r => Text(r["type"]) == "Microsoft.ServiceBus/namespaces"
            && Text(r["name"]) == $"[{endpoint.Groups["name"].Value}]");

        var clientId = Assert.Single(settings, s => Text(s["name"]) == "Pipeline__ServiceBus__ClientId");
        var (_, identity) = ArmExpressions.Trace(app.Scope, Text(clientId["value"]));
        Assert.Matches(@"^\[reference\(resourceId\('Microsoft\.ManagedIdentity/userAssignedIdentities'.*\)\.clientId\]$", identity);

        var root = arm.Scopes[0];
        var output = Assert.Single(root.Template["outputs"]!.AsObject(), o => o.Key.Contains("SERVICEBUS_FULLY_QUALIFIED_NAMESPACE"));
        Assert.Equal(source, ArmExpressions.Trace(root, Text(output.Value?["value"])).Expression);
    }

    [Fact]
    public void Build_AppSettingsAndOutputs_HoldNoConnectionStringOrKey()
    {
        var app = Assert.Single(arm.OfType("Microsoft.Web/sites"));
        var texts = ArmExpressions.AppSettings(app).Select(s => s.ToJsonString())
            .Concat(arm.Scopes.SelectMany(s => s.Outputs).Select(o => o.ToJsonString()))
            .ToList();

        Assert.Contains(texts, t => t.Contains("Pipeline__ServiceBus__FullyQualifiedNamespace", StringComparison.Ordinal));
        Assert.All(KeyMarkers, marker => Assert.DoesNotContain(texts, t => t.Contains(marker, StringComparison.OrdinalIgnoreCase)));
        // Nor anywhere else: no key is read, and no SAS rule exists to read one from.
        Assert.All(KeyMarkers[..3], marker => Assert.DoesNotContain(marker, arm.Json, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(arm.Scopes.SelectMany(s => s.Resources),
            r => Text(r["type"]).Contains("authorizationRules", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Build_StorageAccount_RequiresEntraIdAndHttpsWithTls12()
    {
        var properties = Assert.Single(arm.OfType("Microsoft.Storage/storageAccounts")).Json["properties"]!;

        Assert.False(Bool(properties["allowSharedKeyAccess"]), "account keys are accepted");
        Assert.False(Bool(properties["allowBlobPublicAccess"]), "containers may be made public");
        Assert.True(Bool(properties["supportsHttpsTrafficOnly"]), "plain HTTP is accepted");
        Assert.Equal("TLS1_2", Text(properties["minimumTlsVersion"]));
    }

    [Fact]
    public void Build_FunctionApp_AcceptsOnlyHttps()
    {
        var properties = Assert.Single(arm.OfType("Microsoft.Web/sites")).Json["properties"]!;

        Assert.True(Bool(properties["httpsOnly"]), "the app answers plain HTTP");
        Assert.Equal("1.2", Text(properties["siteConfig"]?["minTlsVersion"]));
    }

    private ArmResource DeploymentsTopic() =>
        Assert.Single(arm.OfType("Microsoft.ServiceBus/namespaces/topics"), t => ArmExpressions.NameSegments(t)[^1] == "deployments");

    private static Match Matched(string pattern, string text)
    {
        var match = Regex.Match(text, pattern);
        Assert.True(match.Success, $"'{text}' does not match {pattern}");
        return match;
    }

    private static string Traced(ArmScope scope, string parameterReference)
    {
        var (traced, expression) = ArmExpressions.Trace(scope, $"[{parameterReference}]");
        return ArmExpressions.ResolveVariable(traced, expression);
    }

    // A missing flag takes the service default, which is the permissive one for every flag checked here.
    private static bool Bool(JsonNode? node) =>
        node?.GetValue<bool>() ?? throw new InvalidOperationException("Expected a boolean in the template.");

    private static string Text(JsonNode? node) =>
        node?.GetValue<string>() ?? throw new InvalidOperationException("Expected a string in the template.");

    private static string[] Texts(JsonNode? node) =>
        [.. (node as JsonArray ?? throw new InvalidOperationException("Expected an array in the template.")).Select(Text)];
}
