using Azure.Data.Tables;
using Pipeline.Fleet.Devices;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Fleet.Devices;

/// <summary>Registering devices, their keys and update windows, through LocalHost's API.</summary>
[Collection(FleetApiCollection.Name)]
public sealed class DeviceApiTests(PipelineFixture pipeline)
{
    private ApiClient Api => pipeline.Api;

    private FleetSeed Seed => new(pipeline.Azurite.ConnectionString);

    private async Task<(string Customer, string Key)> NewTenantAsync(params string[] roles)
    {
        string c = PipelineFixture.NewCustomer();
        return (c, await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, roles.Length == 0 ? ["deploy"] : roles));
    }

    private static string NewDeviceId() => "dev-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task RegisterDevice_New_ReturnsItsKeyOnceAndStoresOnlyTheHash()
    {
        var (customer, key) = await NewTenantAsync();
        string deviceId = NewDeviceId();

        var device = (await Api.RegisterDeviceAsync(key, customer, deviceId, "arm64")).Ok().GetProperty("DM_register_device");

        Assert.Equal(deviceId, device.Str("device_id"));
        Assert.Equal("arm64", device.Str("arch"));
        string deviceKey = device.Str("device_key");
        Assert.StartsWith(DeviceKeys.Prefix, deviceKey, StringComparison.Ordinal);
        var row = (await new TableClient(pipeline.Azurite.ConnectionString, DeviceStore.Table).GetEntityAsync<TableEntity>(deviceId, "device")).Value;
        Assert.Equal(DeviceKeys.Hash(deviceKey), row.GetString("key_hash"));
        Assert.DoesNotContain(row, kv => kv.Value is string s && s.Contains(deviceKey[DeviceKeys.Prefix.Length..], StringComparison.Ordinal));
        Assert.NotNull(await Seed.Devices.AuthenticateAsync(deviceId, deviceKey, CancellationToken.None));
    }

    [Fact]
    public async Task RegisterDevice_IdTakenByAnyCustomer_IsConflict()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        string deviceId = NewDeviceId();
        await Api.RegisterDeviceOkAsync(keyA, a, deviceId);

        Assert.Equal(["CONFLICT"], (await Api.RegisterDeviceAsync(keyB, b, deviceId)).ErrorCodes);
        Assert.Equal(["CONFLICT"], (await Api.RegisterDeviceAsync(keyA, a, deviceId)).ErrorCodes);
        Assert.Equal(a, (await Seed.Devices.GetAsync(deviceId, CancellationToken.None))!.CustomerId);
    }

    [Theory]
    [InlineData("has/slash", "amd64", "device_id")]
    [InlineData("has#hash", "amd64", "device_id")]
    [InlineData("", "amd64", "device_id")]
    [InlineData("dev-ok", "sparc", "arch")]
    [InlineData("dev-ok", "arm", "arch")]
    public async Task RegisterDevice_BadIdOrArch_IsBadInputNamingTheField(string deviceId, string arch, string field)
    {
        var (customer, key) = await NewTenantAsync();

        var answer = await Api.RegisterDeviceAsync(key, customer, deviceId, arch);

        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains(field, answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisterDevice_WithoutDeployRoleOrForAnotherCustomer_IsForbidden()
    {
        var (customer, readKey) = await NewTenantAsync("read", "import");
        var (_, otherKey) = await NewTenantAsync();

        Assert.Equal(["FORBIDDEN"], (await Api.RegisterDeviceAsync(readKey, customer, NewDeviceId())).ErrorCodes);
        Assert.Equal(["FORBIDDEN"], (await Api.RegisterDeviceAsync(otherKey, customer, NewDeviceId())).ErrorCodes);
        Assert.Empty((await Api.RegisterDeviceAsync(LocalHostProcess.AdminKey, customer, NewDeviceId())).ErrorCodes);
    }

    [Fact]
    public async Task CreateDeviceKey_Rotates_OldKeyStopsWorking()
    {
        var (customer, key) = await NewTenantAsync();
        string deviceId = NewDeviceId();
        string first = await Api.RegisterDeviceOkAsync(key, customer, deviceId);

        string second = (await Api.CreateDeviceKeyAsync(key, customer, deviceId)).Ok().GetProperty("DM_create_device_key").GetString()!;

        Assert.NotEqual(first, second);
        Assert.Null(await Seed.Devices.AuthenticateAsync(deviceId, first, CancellationToken.None));
        Assert.Equal(deviceId, (await Seed.Devices.AuthenticateAsync(deviceId, second, CancellationToken.None))?.DeviceId);
    }

    [Fact]
    public async Task DeviceKey_OfOneDevice_OpensNoOtherDevice()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        string devA1 = NewDeviceId(), devA2 = NewDeviceId(), devB = NewDeviceId();
        string keyA1 = await Api.RegisterDeviceOkAsync(keyA, a, devA1);
        string keyA2 = await Api.RegisterDeviceOkAsync(keyA, a, devA2);
        await Api.RegisterDeviceOkAsync(keyB, b, devB);

        Assert.Null(await Seed.Devices.AuthenticateAsync(devA2, keyA1, CancellationToken.None));
        Assert.Null(await Seed.Devices.AuthenticateAsync(devB, keyA1, CancellationToken.None));
        Assert.Null(await Seed.Devices.AuthenticateAsync(devA1, keyA2, CancellationToken.None));
        Assert.Null(await Seed.Devices.AuthenticateAsync(devA1, null, CancellationToken.None));
        Assert.NotNull(await Seed.Devices.AuthenticateAsync(devA1, keyA1, CancellationToken.None));
        // Nor is a device key an API key.
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await Api.RegisterDeviceAsync(keyA1, a, NewDeviceId())).Status);
    }

    [Fact]
    public async Task CreateDeviceKey_AnotherCustomersOrUnknownDevice_IsForbiddenOrNotFound()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        string deviceId = NewDeviceId();
        string original = await Api.RegisterDeviceOkAsync(keyA, a, deviceId);

        Assert.Equal(["FORBIDDEN"], (await Api.CreateDeviceKeyAsync(keyB, b, deviceId)).ErrorCodes);
        Assert.Equal(["FORBIDDEN"], (await Api.CreateDeviceKeyAsync(keyB, a, deviceId)).ErrorCodes);
        Assert.Equal(["NOT_FOUND"], (await Api.CreateDeviceKeyAsync(keyA, a, NewDeviceId())).ErrorCodes);
        Assert.NotNull(await Seed.Devices.AuthenticateAsync(deviceId, original, CancellationToken.None));
    }

    [Fact]
    public async Task SetUpdateWindow_SetThenClear_StoredOnTheDevice()
    {
        var (customer, key) = await NewTenantAsync();
        string deviceId = NewDeviceId();
        await Api.RegisterDeviceOkAsync(key, customer, deviceId);

        (await Api.SetUpdateWindowAsync(key, deviceId, "22:00", "02:30", "Europe/Berlin")).Ok();
        var window = (await Seed.Devices.GetAsync(deviceId, CancellationToken.None))!.UpdateWindow;
        Assert.NotNull(window);
        Assert.Equal(("22:00", "02:30", "Europe/Berlin"), (window.StartText, window.EndText, window.TimeZoneId));

        (await Api.SetUpdateWindowAsync(key, deviceId, "01:00", "03:00")).Ok();
        Assert.Equal("UTC", (await Seed.Devices.GetAsync(deviceId, CancellationToken.None))!.UpdateWindow!.TimeZoneId);

        var cleared = (await Api.SetUpdateWindowAsync(key, deviceId, null)).Ok();
        Assert.True(cleared.GetProperty("DM_set_device_update_window").GetBoolean());
        Assert.Null((await Seed.Devices.GetAsync(deviceId, CancellationToken.None))!.UpdateWindow);
    }

    [Theory]
    [InlineData("2:00", "04:00", null, "time_span.start")]
    [InlineData("02:00", "25:00", null, "time_span.end")]
    [InlineData("02:00", "04:00", "Europe/Atlantis", "time_span.timezone")]
    public async Task SetUpdateWindow_BadTimeOrZone_IsBadInput(string start, string end, string? zone, string field)
    {
        var (customer, key) = await NewTenantAsync();
        string deviceId = NewDeviceId();
        await Api.RegisterDeviceOkAsync(key, customer, deviceId);

        var answer = await Api.SetUpdateWindowAsync(key, deviceId, start, end, zone);

        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains(field, answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetUpdateWindow_AnotherCustomersOrUnknownDevice_IsForbiddenOrNotFound()
    {
        var (a, keyA) = await NewTenantAsync();
        var (_, keyB) = await NewTenantAsync();
        string deviceId = NewDeviceId();
        await Api.RegisterDeviceOkAsync(keyA, a, deviceId);

        Assert.Equal(["FORBIDDEN"], (await Api.SetUpdateWindowAsync(keyB, deviceId, "01:00", "02:00")).ErrorCodes);
        Assert.Equal(["NOT_FOUND"], (await Api.SetUpdateWindowAsync(keyA, NewDeviceId(), "01:00", "02:00")).ErrorCodes);
        Assert.Null((await Seed.Devices.GetAsync(deviceId, CancellationToken.None))!.UpdateWindow);
    }
}
