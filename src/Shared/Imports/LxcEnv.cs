using System.Text;

namespace Pipeline.Imports;

/// <summary>
/// Renders <c>env</c> as <c>/host/lxc.env</c>: one <c>export KEY='value'</c> line per variable,
/// sorted, each value single-quoted with embedded quotes closed and escaped (<c>'\''</c>), so a
/// POSIX shell sourcing the file sees exactly the value, whatever characters it holds.
/// </summary>
public static class LxcEnv
{
    /// <summary>Media type of the rendered file in plans and records.</summary>
    public const string MediaType = "text/x-shellscript; name=lxc.env";

    public static byte[] Render(IReadOnlyDictionary<string, string> env)
    {
        var text = new StringBuilder("# generated: environment of the node service\n");
        foreach (var (key, value) in env.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append("export ").Append(key).Append("='").Append(value.Replace("'", "'\\''", StringComparison.Ordinal)).Append("'\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
