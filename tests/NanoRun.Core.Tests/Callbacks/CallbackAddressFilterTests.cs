using System.Net;
using NanoRun.Callbacks;

namespace NanoRun.Core.Tests.Callbacks;

public sealed class CallbackAddressFilterTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("169.254.169.254")]
    [InlineData("fe80::1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.254")]
    [InlineData("192.168.1.1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("224.0.0.1")]
    [InlineData("ff02::1")]
    [InlineData("255.255.255.255")]
    [InlineData("100.64.0.1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    public void Permits_InternalAddress_Refused(string address)
    {
        var filter = new CallbackAddressFilter([]);

        var permitted = filter.Permits(IPAddress.Parse(address));

        Assert.False(permitted);
    }

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946")]
    [InlineData("::ffff:93.184.216.34")]
    public void Permits_PublicAddress_Allowed(string address)
    {
        var filter = new CallbackAddressFilter([]);

        var permitted = filter.Permits(IPAddress.Parse(address));

        Assert.True(permitted);
    }

    [Fact]
    public void Permits_AllowedNetwork_AdmitsOnlyThatNetwork()
    {
        var filter = new CallbackAddressFilter([IPNetwork.Parse("127.0.0.0/8")]);

        Assert.True(filter.Permits(IPAddress.Parse("127.0.0.1")));
        Assert.True(filter.Permits(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(filter.Permits(IPAddress.Parse("::1")));
        Assert.False(filter.Permits(IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public async Task ConnectAsync_NameResolvingToLoopback_RefusedBeforeConnecting()
    {
        var filter = new CallbackAddressFilter([]);

        await Assert.ThrowsAsync<CallbackRefusedException>(async () => await filter.ConnectAsync(new DnsEndPoint("localhost", 9), CancellationToken.None));
    }
}
