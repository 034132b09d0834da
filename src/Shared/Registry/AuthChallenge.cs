using System.Text;

namespace Pipeline.Registry;

/// <summary>
/// One challenge of a <c>WWW-Authenticate</c> header (RFC 9110 §11.6.1; Docker token spec
/// https://distribution.github.io/distribution/spec/auth/token/): a scheme and its parameters.
/// Quoted values may contain commas and escaped quotes; parameter names are case-insensitive.
/// </summary>
internal sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? this[string name] => Parameters.TryGetValue(name, out var v) ? v : null;

    public bool Is(string scheme) => string.Equals(Scheme, scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>All challenges of all <c>WWW-Authenticate</c> values of a response, raw (unvalidated) header text.</summary>
    public static IReadOnlyList<AuthChallenge> FromResponse(HttpResponseMessage response)
    {
        var result = new List<AuthChallenge>();
        if (response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values))
        {
            foreach (string value in values)
            {
                result.AddRange(Parse(value));
            }
        }
        return result;
    }

    public static IReadOnlyList<AuthChallenge> Parse(string header)
    {
        var challenges = new List<AuthChallenge>();
        int i = 0;
        while (i < header.Length)
        {
            SkipSeparators(header, ref i);
            string scheme = ReadToken(header, ref i);
            if (scheme.Length == 0)
            {
                i++; // an unexpected character: skip it rather than loop
                continue;
            }
            var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            while (true)
            {
                int save = i;
                SkipSeparators(header, ref i);
                if (i >= header.Length)
                {
                    break;
                }
                string name = ReadToken(header, ref i);
                SkipSpaces(header, ref i);
                if (name.Length > 0 && i < header.Length && header[i] == '=')
                {
                    i++;
                    SkipSpaces(header, ref i);
                    string value = i < header.Length && header[i] == '"' ? ReadQuoted(header, ref i) : ReadBare(header, ref i);
                    parameters.TryAdd(name, value);
                }
                else if (name.Length == 0)
                {
                    SkipPastComma(header, ref i); // not a parameter (e.g. a token68): ignore it
                }
                else
                {
                    i = save; // a bare token: the next challenge's scheme
                    break;
                }
            }
            challenges.Add(new AuthChallenge(scheme, parameters));
        }
        return challenges;
    }

    private static void SkipPastComma(string s, ref int i)
    {
        while (i < s.Length && s[i] != ',')
        {
            i++;
        }
    }

    // Lenient: some registries send unquoted URLs, which are not RFC tokens.
    private static string ReadBare(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && s[i] is not (',' or ' ' or '\t'))
        {
            i++;
        }
        return s[start..i];
    }

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t')
        {
            i++;
        }
    }

    private static void SkipSeparators(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or ',')
        {
            i++;
        }
    }

    private static string ReadToken(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && IsTokenChar(s[i]))
        {
            i++;
        }
        return s[start..i];
    }

    private static string ReadQuoted(string s, ref int i)
    {
        var sb = new StringBuilder();
        i++; // opening quote
        while (i < s.Length && s[i] != '"')
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                i++;
            }
            sb.Append(s[i]);
            i++;
        }
        i++; // closing quote (or end)
        return sb.ToString();
    }

    // RFC 9110 tchar.
    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
