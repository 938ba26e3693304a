using System.Net;
using System.Net.Sockets;

namespace NanoRun.Callbacks;

/// <summary>
/// Decides which addresses a caller-chosen callback URL (<c>X-Callback-Url</c>) may connect to: none of loopback,
/// link-local, private (RFC 1918, RFC 6598, <c>fc00::/7</c>), unspecified, multicast or reserved addresses, unless
/// the server's <c>callbacks.allow_networks</c> lists them. IPv4-mapped IPv6 addresses are judged as IPv4.
/// </summary>
internal sealed class CallbackAddressFilter(IReadOnlyList<IPNetwork> allowed)
{
    private static readonly IPNetwork[] Internal =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("::/96"),
        IPNetwork.Parse("64:ff9b::/96"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fec0::/10"),
        IPNetwork.Parse("ff00::/8"),
    ];

    /// <summary>Whether a connection to <paramref name="address"/> is allowed.</summary>
    public bool Permits(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in allowed)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        foreach (var network in Internal)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address))
            {
                return false;
            }
        }

        return address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;
    }

    /// <summary>
    /// Resolves the host and opens a TCP connection only when every address it resolves to is permitted, so a name
    /// that resolves (or later rebinds) to an internal address cannot be used; throws <see cref="CallbackRefusedException"/> otherwise.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endPoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endPoint.Host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new CallbackRefusedException(endPoint.Host + " resolves to no address");
        }

        foreach (var address in addresses)
        {
            if (!Permits(address))
            {
                throw new CallbackRefusedException(endPoint.Host + " resolves to " + address + ", outside the allowed networks");
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A caller-chosen callback URL points at an address the server's policy refuses.</summary>
internal sealed class CallbackRefusedException(string message) : IOException(message);
