using System.Text;
using System.Text.Json.Nodes;

namespace Pipeline.Tests.Webhooks;

/// <summary>The documented payloads in <c>Payloads/</c>, as they are or edited, and what the parser tests share.</summary>
public static class PayloadFiles
{
    /// <summary>A request without headers.</summary>
    public static string? NoHeaders(string name) => null;

    public static JsonNode Node(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Webhooks", "Payloads", file)))!;

    /// <summary>The file's bytes, or its JSON after <paramref name="edit"/>.</summary>
    public static byte[] Load(string file, Action<JsonNode>? edit = null)
    {
        if (edit is null)
        {
            return File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Webhooks", "Payloads", file));
        }
        var node = Node(file);
        edit(node);
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    /// <summary>Asserts that parsing is refused with <c>BAD_INPUT</c> and a message starting with <paramref name="expected"/> (the field).</summary>
    public static void AssertBadInput(Func<object> parse, string expected)
    {
        var ex = Assert.Throws<PipelineException>(parse);
        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith(expected, ex.Detail, StringComparison.Ordinal);
    }
}
