using System.Text.Json.Nodes;
using Pipeline.Fleet.Instances;

namespace Pipeline.Tests.Fleet.Instances;

public sealed class InstanceValueTests
{
    [Fact]
    public void InstanceIds_New_NamesItsNodeService()
    {
        string id = NodeServiceInstanceIds.New("ns_0123456789abcdef01234567");

        Assert.True(NodeServiceInstanceIds.TryGetNodeServiceId(id, out var nodeServiceId));
        Assert.Equal("ns_0123456789abcdef01234567", nodeServiceId);
        Assert.True(Ids.IsSafeKey(id));
        Assert.NotEqual(id, NodeServiceInstanceIds.New("ns_0123456789abcdef01234567"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ns_x")]
    [InlineData("ns_x.0123")]
    [InlineData(".0123456789abcdef0123")]
    [InlineData("ns/x.0123456789abcdef0123")]
    [InlineData("ns_x.0123456789ABCDEF0123")]
    public void InstanceIds_Malformed_IsNotAnInstanceId(string id)
    {
        Assert.False(NodeServiceInstanceIds.TryGetNodeServiceId(id, out _));
    }

    [Fact]
    public void ConfigMap_NestedValues_RoundTripThroughJsonText()
    {
        var input = new Dictionary<string, object?>
        {
            ["name"] = "edge-1",
            ["port"] = 8080,
            ["big"] = 9_000_000_000L,
            ["ratio"] = 0.25,
            ["on"] = true,
            ["none"] = null,
            ["tags"] = new List<object?> { "a", 2, false },
            ["nested"] = new Dictionary<string, object?> { ["k"] = "v" },
        };

        string json = ConfigMapJson.ToJson(input)!;
        var back = Assert.IsType<Dictionary<string, object?>>(ConfigMapJson.ToValue(json));

        Assert.Equal(JsonNode.Parse(json)!.ToJsonString(), JsonNode.Parse("""{"name":"edge-1","port":8080,"big":9000000000,"ratio":0.25,"on":true,"none":null,"tags":["a",2,false],"nested":{"k":"v"}}""")!.ToJsonString());
        Assert.Equal("edge-1", back["name"]);
        Assert.Equal(8080L, back["port"]);
        Assert.Equal(9_000_000_000L, back["big"]);
        Assert.Equal(0.25m, back["ratio"]);
        Assert.Equal(true, back["on"]);
        Assert.Null(back["none"]);
        Assert.Equal(new List<object?> { "a", 2L, false }, Assert.IsType<List<object?>>(back["tags"]));
        Assert.Equal("v", Assert.IsType<Dictionary<string, object?>>(back["nested"])["k"]);
    }

    [Fact]
    public void ConfigMap_NotAnObject_IsBadInput()
    {
        Assert.Equal(ErrorCodes.BadInput, Assert.Throws<PipelineException>(() => ConfigMapJson.ToJson("text")).Code);
        Assert.Equal(ErrorCodes.BadInput, Assert.Throws<PipelineException>(() => ConfigMapJson.ToJson(new List<object?> { 1 })).Code);
        Assert.Null(ConfigMapJson.ToJson(null));
    }

    [Fact]
    public void ConfigMap_OverTheRowLimit_IsTooLarge()
    {
        var big = new Dictionary<string, object?> { ["blob"] = new string('x', ConfigMapJson.MaxChars) };
        Assert.Equal(ErrorCodes.TooLarge, Assert.Throws<PipelineException>(() => ConfigMapJson.ToJson(big)).Code);
    }
}
