using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class AuthChallengeTests
{
    [Fact]
    public void Parse_BearerWithQuotedCommas_KeepsValuesWhole()
    {
        var challenge = Assert.Single(AuthChallenge.Parse(
            "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:a/b:pull,push\""));

        Assert.True(challenge.Is("bearer"));
        Assert.Equal("https://auth.example.com/token", challenge["realm"]);
        Assert.Equal("registry.example.com", challenge["service"]);
        Assert.Equal("repository:a/b:pull,push", challenge["scope"]);
    }

    [Fact]
    public void Parse_EscapedQuotesAndSpaces_Unescapes()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("Bearer  realm = \"https://a/t\" , service=\"say \\\"hi\\\"\""));

        Assert.Equal("https://a/t", challenge["realm"]);
        Assert.Equal("say \"hi\"", challenge["service"]);
    }

    [Fact]
    public void Parse_TwoChallengesInOneHeader_ReturnsBoth()
    {
        var challenges = AuthChallenge.Parse("Basic realm=\"x, y\", Bearer realm=\"https://a/token\",service=svc");

        Assert.Equal(2, challenges.Count);
        Assert.True(challenges[0].Is("Basic"));
        Assert.Equal("x, y", challenges[0]["realm"]);
        Assert.True(challenges[1].Is("Bearer"));
        Assert.Equal("svc", challenges[1]["service"]);
    }

    [Fact]
    public void Parse_UnquotedUrlAndUpperCaseNames_Accepted()
    {
        var challenge = Assert.Single(AuthChallenge.Parse("BEARER Realm=https://auth.example.com/token?x=1,Service=reg"));

        Assert.Equal("https://auth.example.com/token?x=1", challenge["realm"]);
        Assert.Equal("reg", challenge["service"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData(",,,")]
    [InlineData("Bearer realm=\"unterminated")]
    [InlineData("Negotiate abc/def==, Basic")]
    [InlineData("\"\"\"===,,,")]
    public void Parse_Garbage_DoesNotThrowOrLoop(string header)
    {
        var challenges = AuthChallenge.Parse(header);

        Assert.NotNull(challenges);
    }
}
