using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Pipeline.Tests.Infra;

/// <summary>Just enough of ARM's expression language to follow values through modules.</summary>
internal static partial class ArmExpressions
{
    /// <summary>
    /// Follows a bare <c>parameters('x')</c> to the value the enclosing module call passes (or its
    /// default), and a bare module output reference to that module's output expression, until neither applies.
    /// </summary>
    public static (ArmScope Scope, string Expression) Trace(ArmScope scope, string expression)
    {
        for (var hops = 0; hops < 32; hops++)
        {
            if (BareParameter().Match(expression) is { Success: true } p && scope.Deployment is not null && scope.Parent is not null)
            {
                var name = p.Groups["name"].Value;
                if (scope.Deployment["properties"]?["parameters"]?[name] is { } passed)
                {
                    expression = passed["value"]?.GetValue<string>()
                        ?? throw new InvalidOperationException($"Module parameter {name} has no string value.");
                    scope = scope.Parent;
                }
                else
                {
                    // Left out by the module call: the default applies, evaluated inside the module.
                    expression = scope.Template["parameters"]?[name]?["defaultValue"]?.GetValue<string>()
                        ?? throw new InvalidOperationException($"Module parameter {name} is neither passed nor defaulted.");
                }
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

    /// <summary>
    /// The segments of a resource's name (<c>namespace/topic/subscription</c>), each parameter traced to
    /// the value the deployment gives it; a segment computed some other way stays an expression.
    /// </summary>
    public static IReadOnlyList<string> NameSegments(ArmResource resource)
    {
        var name = resource.Json["name"]?.GetValue<string>() ?? throw new InvalidOperationException("Resource has no name.");
        if (!name.StartsWith('['))
        {
            return name.Split('/');
        }
        var arguments = FormattedName().Match(name) is { Success: true } f
            ? NameArgument().Matches(f.Groups["args"].Value).Select(m => m.Value).ToList()
            : [name[1..^1]];
        return [.. arguments.Select(a =>
        {
            if (a.StartsWith('\''))
            {
                return a.Trim('\'');
            }
            var (scope, expression) = Trace(resource.Scope, $"[{a}]");
            return ResolveVariable(scope, expression);
        })];
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

    // bicep writes a child's name as format('{0}/{1}', <parent's name>, <own name>).
    [GeneratedRegex(@"^\[format\('\{0\}(?:/\{\d+\})+', (?<args>.*)\)\]$")]
    private static partial Regex FormattedName();

    [GeneratedRegex(@"(?:parameters|variables)\('[^']+'\)|'[^']*'")]
    private static partial Regex NameArgument();

    [GeneratedRegex(@"parameters\('(?<name>[^']+)'\)")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)(?<path>(?:\.\w+)*)")]
    private static partial Regex VariablePath();

    [GeneratedRegex(@"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex GuidLiteral();
}
